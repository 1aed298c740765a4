/**
 * Durability and persistent actors, on real database files: replies released only after their
 * receipts commit ('commit'), write-behind within a bound ('async'), nothing written ('none');
 * persistent actors resuming after a supervisor restart and in a new system on the same file,
 * with their timers (due ones firing on recovery, in deadline order); simple_one_for_one
 * children brought back; snapshots that cannot be encoded; and the journal's faults (busy, full,
 * read-only, corrupt, in use) as typed errors.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  child,
  createSystem,
  EncodeError,
  InvalidArgumentError,
  JournalError,
  supervisor,
  type ActorRef,
  type ActorSystem,
  type JournalErrorEvent,
  type SystemOptions,
  type SupervisorRef,
} from 'threadstate';
import { sha256 } from '../runtime/sha256.js';
import { account, bare, holder } from './fixtures/account.js';
import { Journal, type JournalFailure } from '../runtime/journal.js';
import { ledger } from './fixtures/journal.js';
import { settle, WORKERS } from './helpers.js';

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((s) => s.shutdown().catch(() => undefined)));
  systems = [];
});

const dbFile = () => join(mkdtempSync(join(tmpdir(), 'ts-durable-')), 'journal.db');

async function open(db: string, opts: SystemOptions = {}): Promise<ActorSystem> {
  const system = await createSystem({ workers: 0, db, clock: 'virtual', logger: { level: 'silent' }, ...opts });
  systems.push(system);
  return system;
}

async function close(system: ActorSystem): Promise<void> {
  await system.shutdown();
  systems = systems.filter((s) => s !== system);
}

/** What a second connection (another process could be it) sees committed in the file. */
function committed(db: string, actor: string): { receipts: number; snapshot: boolean } {
  const raw = new Database(db, { readonly: true });
  try {
    const key = raw.prepare('SELECT id FROM actors WHERE name = ?').pluck().get(actor) as number | undefined;
    if (key === undefined) return { receipts: 0, snapshot: false };
    const receipts = raw.prepare('SELECT count(*) FROM receipts WHERE actor = ?').pluck().get(key) as number;
    const snapshot = raw.prepare('SELECT count(*) FROM snapshots WHERE actor = ?').pluck().get(key) as number;
    return { receipts, snapshot: snapshot === 1 };
  } finally {
    raw.close();
  }
}

/** Makes the wall clock pass `ms` (the virtual clock of a new system starts at the real time). */
function letWallTimePass(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() <= until);
}

describe.each(WORKERS)('durability modes (workers: %i)', (workers) => {
  it("'commit': spawn and every reply come only after their receipts (and snapshot) are committed", async () => {
    const db = dbFile();
    const system = await open(db, { workers });
    await system.spawn(account, { id: 'c1', persistent: true });
    expect(committed(db, 'c1')).toEqual({ receipts: 1, snapshot: true });
    const ref = system.ref('c1');
    expect(await ref.call({ type: 'close' })).toBe('closed');
    expect(committed(db, 'c1').receipts).toBe(2);
    expect(await ref.call({ type: 'open' })).toBe('open');
    expect(committed(db, 'c1').receipts).toBe(3);
    // A reply that changed no state still waits for what the actor wrote before it.
    const replies = await Promise.all([ref.call({ type: 'close' }), ref.call({ type: 'get' })]);
    expect(replies[1]).toMatchObject({ state: 'closed' });
    expect(committed(db, 'c1').receipts).toBe(4);
    // A non-persistent actor can ask for 'commit' too.
    const l = await system.spawn(ledger, { id: 'l1', durability: 'commit' });
    l.cast({ type: 'close' });
    expect(await l.call('state')).toBe('closed');
    expect(committed(db, 'l1').receipts).toBe(2);
  });

  it("'none' writes nothing; the system's durability is every actor's default", async () => {
    const db = dbFile();
    const system = await open(db, { workers, durability: 'none' });
    const l = await system.spawn(ledger, { id: 'quiet' });
    l.cast({ type: 'close' });
    expect(await l.call('state')).toBe('closed');
    expect(await system.receipts('quiet')).toEqual([]);
    const loud = await system.spawn(ledger, { id: 'loud', durability: 'async' });
    loud.cast({ type: 'close' });
    await loud.call('state');
    expect((await system.receipts('loud')).map((r) => r.to)).toEqual(['open', 'closed']);
  });
});

describe("'async' (write-behind)", () => {
  it('replies at once, before the commit; system.receipts sees everything; the loss window is bounded by maxUnacked', async () => {
    const db = dbFile();
    const system = await open(db);
    const l = await system.spawn(ledger, { id: 'wb' });
    l.cast({ type: 'close' });
    expect(await l.call('state')).toBe('closed');
    expect(committed(db, 'wb').receipts).toBe(0); // answered, not yet committed
    expect((await system.receipts('wb')).length).toBe(2);
    await close(system);
    // maxUnacked: 0 — no row may be outstanding when a reply goes: async behaves like commit.
    const strict = await open(dbFile(), { journal: { maxUnacked: 0 } });
    const s = await strict.spawn(ledger, { id: 'wb0' });
    s.cast({ type: 'close' });
    expect(await s.call('state')).toBe('closed');
    expect(committed((strict as unknown as { journal: { path: string } }).journal.path, 'wb0').receipts).toBe(2);
  });
});

describe.each(WORKERS)('persistent actors (workers: %i)', (workers) => {
  it('a supervisor restart resumes the last committed state, data and timers', async () => {
    const db = dbFile();
    const system = await open(db, { workers });
    const restarts: string[] = [];
    system.on('restart', (e) => restarts.push(e.id));
    await system.start(supervisor('root', { strategy: 'one_for_one', intensity: 5, period: 1000 }, [child('acct', account, { persistent: true, args: { balance: 10 } })]));
    const ref = system.ref('acct');
    expect(await ref.call({ type: 'deposit', amount: 5 })).toBe(15);
    expect(await ref.call({ type: 'remind', name: 'r1', ms: 1000 })).toBe('ok');
    expect(await ref.call({ type: 'close' })).toBe('closed');
    ref.cast({ type: 'poison' }); // a real crash (the handler throws)
    await settle(system);
    expect(restarts).toEqual(['acct']);
    expect(await ref.call({ type: 'get' })).toMatchObject({ state: 'closed', balance: 15, log: [] });
    expect(await system.timeoutsOf('acct')).toEqual(['r1']);
    await system.clock.advance(1000);
    expect(await ref.call({ type: 'get' })).toMatchObject({ state: 'closed', log: ['r1'] });
    expect(await system.verifyReceipts('acct')).toEqual({ ok: true });
  });

  it('a new system on the same file resumes it; timers due meanwhile fire at once, in deadline order', async () => {
    const db = dbFile();
    const first = await open(db, { workers });
    const a = await first.spawn(account, { id: 'p1', persistent: true, args: { balance: 1 } });
    expect(await a.call({ type: 'deposit', amount: 41 })).toBe(42);
    const t0 = first.clock.now();
    // Armed later-deadline first: recovery must order them by deadline, not by arming order.
    await a.call({ type: 'remind', name: 'late', ms: 0, at: t0 + 4 });
    await a.call({ type: 'remind', name: 'early', ms: 0, at: t0 + 2 });
    await a.call({ type: 'remind', name: 'future', ms: 600_000 });
    await close(first);
    letWallTimePass(6);
    const second = await open(db, { workers });
    const b = await second.spawn(account, { id: 'p1', persistent: true });
    await settle(second);
    expect(await b.call({ type: 'get' })).toMatchObject({ state: 'open', balance: 42, log: ['early', 'late'] });
    expect((await second.timeoutsOf('p1')).sort()).toEqual(['future', 'state_timeout']);
    // The state timeout armed by init (60 s) is still running on the clock it was armed on.
    await second.clock.advance(60_000);
    expect(await b.call({ type: 'get' })).toMatchObject({ state: 'frozen', log: ['early', 'late', 'frozen'] });
    expect((await second.receipts('p1')).map((r) => [r.seq, r.event.kind, r.to])).toEqual([
      [1, 'init', 'open'],
      [2, 'state_timeout', 'frozen'],
    ]);
  });

  it('an event timeout cancelled by a later event stays cancelled after a restart', async () => {
    const db = dbFile();
    const first = await open(db, { workers });
    const a = await first.spawn(account, { id: 'ev', persistent: true });
    const b = await first.spawn(account, { id: 'ev2', persistent: true });
    expect(await a.call({ type: 'watch' })).toBe('watching');
    await a.call({ type: 'get' }); // any event cancels the event timeout, even one that changes nothing
    expect(await b.call({ type: 'watch' })).toBe('watching');
    await close(first);
    const second = await open(db, { workers });
    const a2 = await second.spawn(account, { id: 'ev', persistent: true });
    const b2 = await second.spawn(account, { id: 'ev2', persistent: true });
    await second.clock.advance(2000);
    expect(await a2.call({ type: 'get' })).toMatchObject({ log: [] });
    expect(await b2.call({ type: 'get' })).toMatchObject({ log: ['idle'] });
  });

  it('refs in its data and in receipt metadata come back as working refs', async () => {
    const db = dbFile();
    const first = await open(db, { workers });
    await first.spawn(account, { id: 'peer', persistent: true, args: { balance: 3 } });
    const h = await first.spawn(holder, { id: 'holder', persistent: true, args: { peer: first.ref('peer') } });
    expect(await h.call('remember')).toBe('ok');
    await close(first);
    const second = await open(db, { workers });
    await second.spawn(account, { id: 'peer', persistent: true });
    const again = await second.spawn(holder, { id: 'holder', persistent: true });
    expect(await again.call('ask')).toMatchObject({ balance: 3 });
    const meta = (await second.receipts('holder')).find((r) => r.reason === 'peer')?.meta as { peer: ActorRef };
    expect(meta.peer.id).toBe('peer');
    expect(await meta.peer.call({ type: 'get' })).toMatchObject({ balance: 3 });
  });

  it("stopping with 'normal' finishes it for good: the next spawn runs init", async () => {
    const db = dbFile();
    const system = await open(db, { workers });
    const a = await system.spawn(account, { id: 'done', persistent: true });
    await a.call({ type: 'deposit', amount: 3 });
    await expect(a.call({ type: 'finish' })).rejects.toThrow();
    await settle(system);
    expect(committed(db, 'done').snapshot).toBe(false);
    const again = await system.spawn(account, { id: 'done', persistent: true });
    expect(await again.call({ type: 'get' })).toMatchObject({ balance: 0 });
  });

  it('state or data that cannot be stored: the caller gets EncodeError and the actor keeps its previous state', async () => {
    const system = await open(dbFile(), { workers });
    const a = await system.spawn(account, { id: 'enc', persistent: true });
    await a.call({ type: 'deposit', amount: 7 });
    const err = await a.call({ type: 'poison' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncodeError);
    expect((err as Error).message).toMatch(/persistent actor 'enc'/);
    expect(await a.call({ type: 'get' })).toMatchObject({ state: 'open', balance: 7 });
    expect(await a.call({ type: 'deposit', amount: 1 })).toBe(8);
  });
});

describe('persistent actors: the corners', () => {
  it("a system default of 'none' does not strip a persistent actor of its receipts and snapshot", async () => {
    const db = dbFile();
    const system = await open(db, { durability: 'none' });
    const a = await system.spawn(account, { id: 'np', persistent: true });
    expect(committed(db, 'np')).toEqual({ receipts: 1, snapshot: true });
    await expect(a.call({ type: 'finish' })).rejects.toThrow();
    await settle(system);
    expect(committed(db, 'np').snapshot).toBe(false);
  });

  it('data changed in place is stored; init without data is stored; an unstorable timeout message is refused', async () => {
    const db = dbFile();
    const first = await open(db);
    const a = await first.spawn(account, { id: 'mut', persistent: true });
    await a.call({ type: 'bump' });
    expect(await a.call({ type: 'bump' })).toBe(2);
    const err = await a.call({ type: 'badTimer' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncodeError);
    expect(await first.timeoutsOf('mut')).toEqual(['state_timeout']);
    await first.spawn(bare, { id: 'bare', persistent: true });
    expect(committed(db, 'bare').snapshot).toBe(true);
    await close(first);
    const second = await open(db);
    expect(await (await second.spawn(account, { id: 'mut', persistent: true })).call({ type: 'get' })).toMatchObject({ balance: 2 });
    expect(await (await second.spawn(bare, { id: 'bare', persistent: true })).call('go')).toBe('busy');
    expect(await second.verifyReceipts('mut')).toEqual({ ok: true });
  });

  it('the same id run as a non-persistent actor in between: the persistent one resumes and its chain goes on', async () => {
    const db = dbFile();
    const system = await open(db);
    const p = await system.spawn(account, { id: 'twice', persistent: true });
    await p.call({ type: 'close' });
    await system.kill('twice');
    await settle(system);
    const plain = await system.spawn(account, { id: 'twice' }); // its own receipts, no snapshot
    await plain.call({ type: 'close' });
    await plain.stop('shutdown');
    const again = await system.spawn(account, { id: 'twice', persistent: true });
    expect(await again.call({ type: 'get' })).toMatchObject({ state: 'closed' });
    expect(await again.call({ type: 'open' })).toBe('open');
    expect((await system.receipts('twice')).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await system.verifyReceipts('twice')).toEqual({ ok: true });
  });

  it('the journal refuses a row that does not follow its chain (seq or previous hash), and the actor must not carry on', () => {
    const journal = new Journal(dbFile());
    const acks: [number, JournalFailure | null][] = [];
    const source = { ack: (upTo: number, f: JournalFailure | null) => acks.push([upTo, f]) };
    const row = (seq: number, prev: Buffer | null, hash: Buffer) => ['j1', 7, 1000 + seq, null, '"a"', 'init', null, null, null, undefined, undefined, undefined, seq, prev, hash];
    const h1 = Buffer.alloc(32, 1);
    journal.submit(source, row(1, null, h1), 1);
    journal.commit();
    journal.submit(source, row(2, Buffer.alloc(32, 9), Buffer.alloc(32, 2)), 2); // right seq, wrong previous hash
    journal.commit();
    journal.submit(source, row(2, h1, Buffer.alloc(32, 3)), 3); // the same incarnation stays fenced
    journal.commit();
    expect(acks.map(([upTo, f]) => [upTo, f?.tags ?? null, f?.reason ?? null])).toEqual([
      [1, null, null],
      [2, [2], 'fenced'],
      [3, [3], 'fenced'],
    ]);
    expect(journal.receipts('j1').map((r) => r.seq)).toEqual([1]);
    journal.close();
  });

  it("over ':memory:' (no file a shard could read) the main thread reads the snapshot for the shard", async () => {
    const system = await open(':memory:', { workers: 2 });
    await system.start(supervisor('root', { strategy: 'one_for_one' }, [child('mem', account, { persistent: true, args: { balance: 4 } })]));
    const ref = system.ref('mem');
    await ref.call({ type: 'deposit', amount: 1 });
    await ref.call({ type: 'close' });
    ref.cast({ type: 'poison' });
    await settle(system);
    expect(await ref.call({ type: 'get' })).toMatchObject({ state: 'closed', balance: 5 });
    expect(await system.verifyReceipts('mem')).toEqual({ ok: true });
  });

  it('spawn refuses the options only the runtime sets', async () => {
    const system = await open(dbFile());
    await expect(system.spawn(account, { id: 'h', head: [5, null] } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createSystem({ workers: 0, journal: { maxBytes: -1 } })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('simple_one_for_one with a persistent template', () => {
  it('a temporary child that crashed is not brought back; a child whose snapshot cannot be read is left out, the rest come back', async () => {
    const db = dbFile();
    const tree = () => supervisor('pool', { strategy: 'simple_one_for_one', template: child('p', account, { persistent: true, restart: 'temporary' }) });
    const first = await open(db);
    const sup = (await first.start(tree())) as SupervisorRef;
    for (const id of ['ok1', 'crashy', 'broken', 'ok2']) await sup.startChild({ balance: 1 }, { id });
    first.ref('crashy').cast({ type: 'poison' });
    await settle(first);
    await close(first);
    const raw = new Database(db);
    raw.prepare("UPDATE snapshots SET body = x'c1c1c1' WHERE actor = (SELECT id FROM actors WHERE name = 'broken')").run();
    raw.close();
    const second = await open(db);
    const again = (await second.start(tree())) as SupervisorRef;
    expect(again.whichChildren().map((c) => c.id).sort()).toEqual(['ok1', 'ok2']);
  });

  it('brings back the children it had when the tree starts again; terminateChild forgets one', async () => {
    const db = dbFile();
    const tree = () => supervisor('tenants', { strategy: 'simple_one_for_one', template: child('tenant', account, { persistent: true }) });
    const first = await open(db, { workers: 2 });
    const sup = (await first.start(tree())) as SupervisorRef;
    await sup.startChild({ balance: 5 }, { id: 'acme' });
    await sup.startChild({ balance: 9 });
    await sup.startChild({ balance: 1 }, { id: 'gone' });
    await first.ref('acme').call({ type: 'deposit', amount: 1 });
    await sup.terminateChild('gone');
    await close(first);
    const second = await open(db, { workers: 2 });
    const again = (await second.start(tree())) as SupervisorRef;
    expect(again.whichChildren().map((c) => c.id).sort()).toEqual(['acme', 'tenant-1']);
    expect(await second.ref('acme').call({ type: 'get' })).toMatchObject({ balance: 6 });
    expect(await second.ref('tenant-1').call({ type: 'get' })).toMatchObject({ balance: 9 });
    const next = await again.startChild({ balance: 2 });
    expect(next.id).toBe('tenant-2');
  });
});

describe('faults', () => {
  it('SQLITE_BUSY: the caller gets a JournalError, the actor crashes, a journalError event names it', async () => {
    const db = dbFile();
    const system = await open(db, { journal: { busyTimeout: 20 } });
    const events: JournalErrorEvent[] = [];
    system.on('journalError', (e) => events.push(e));
    const a = await system.spawn(account, { id: 'b1', persistent: true });
    const blocker = new Database(db);
    blocker.exec('BEGIN IMMEDIATE'); // another connection holds the write lock
    const err = await a.call({ type: 'close' }).catch((e: unknown) => e);
    blocker.exec('ROLLBACK');
    blocker.close();
    expect(err).toBeInstanceOf(JournalError);
    expect(err).toMatchObject({ code: 'journal', reason: 'busy' });
    expect(events.map((e) => e.actors)).toEqual([['b1']]);
    expect(system.has('b1')).toBe(false);
    // Nothing uncommitted was kept: resumed, it is still open.
    const b = await system.spawn(account, { id: 'b1', persistent: true });
    expect(await b.call({ type: 'get' })).toMatchObject({ state: 'open' });
    expect(await system.verifyReceipts('b1')).toEqual({ ok: true });
  });

  it('a full disk (SQLITE_FULL) rejects the callers whose transitions it could not store', async () => {
    const system = await open(dbFile(), { workers: 2, journal: { maxBytes: 256 * 1024 } });
    const refs = await Promise.all(Array.from({ length: 20 }, (_, i) => system.spawn(ledger, { id: `f${i}`, durability: 'commit' })));
    let full: unknown = null;
    for (let round = 0; round < 400 && full === null; round++) {
      const calls = refs.map((r) => (r.cast({ type: round % 2 === 0 ? 'close' : 'reopen' }), r.call('state')));
      for (const c of await Promise.allSettled(calls)) if (c.status === 'rejected') full = c.reason;
      if (full === null) for (let i = 0; i < refs.length; i++) if (!system.has(`f${i}`)) full = 'missing';
    }
    expect(full).toBeInstanceOf(Error);
    expect(full instanceof JournalError ? full.reason : (full as ActorCrashedError).reason).toSatisfy((r: unknown) => r === 'full' || (r instanceof JournalError && r.reason === 'full'));
  });

  it('a corrupt file, a read-only file, a directory without permission, a file already in use: typed errors', async () => {
    const corrupt = dbFile();
    writeFileSync(corrupt, Buffer.alloc(8192, 0x5a));
    expect(await createSystem({ workers: 0, db: corrupt, logger: { level: 'silent' } }).catch((e: unknown) => e)).toMatchObject({ code: 'journal', reason: 'corrupt' });

    const ro = dbFile();
    await close(await open(ro));
    lock(ro);
    try {
      const err = await open(ro).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JournalError);
      expect(err).toMatchObject({ reason: 'readonly' });
    } finally {
      unlock(ro);
    }

    const dir = mkdtempSync(join(tmpdir(), 'ts-nowrite-'));
    mkdirSync(join(dir, 'sub'));
    lock(join(dir, 'sub'));
    try {
      expect(await createSystem({ workers: 0, db: join(dir, 'sub', 'x.db'), logger: { level: 'silent' } }).catch((e: unknown) => e)).toMatchObject({ code: 'journal', reason: 'readonly' });
    } finally {
      unlock(join(dir, 'sub'));
    }

    const shared = dbFile();
    await open(shared);
    expect(await createSystem({ workers: 0, db: shared, logger: { level: 'silent' } }).catch((e: unknown) => e)).toMatchObject({ code: 'journal', reason: 'in_use' });
  });

  it('bad options are refused at the call site', async () => {
    const none = await open(dbFile(), { db: false });
    await expect(none.spawn(account, { id: 'x', persistent: true })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(none.spawn(ledger, { durability: 'commit' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(none.receipts('x')).rejects.toBeInstanceOf(InvalidArgumentError);
    const system = await open(dbFile());
    await expect(system.spawn(account, { persistent: true })).rejects.toThrow(/needs an id/);
    await expect(system.spawn(account, { id: 'y', persistent: true, durability: 'none' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(system.spawn(ledger, { durability: 'sometimes' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createSystem({ workers: 0, durability: 'later' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createSystem({ workers: 0, journal: { synchronous: 'off' as never } })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('the schema and the hash', () => {
  it('a version-1 database is migrated forward; its chains still verify and carry on', async () => {
    const db = dbFile();
    const raw = new Database(db);
    raw.exec(`CREATE TABLE receipts (actor TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, from_state TEXT, to_state TEXT,
      event_kind TEXT NOT NULL, event_type TEXT, reason TEXT, meta BLOB, prev_hash BLOB, hash BLOB NOT NULL, PRIMARY KEY (actor, seq)) WITHOUT ROWID;`);
    raw.pragma('user_version = 1');
    let prev: Buffer | null = null;
    const insert = raw.prepare('INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const [seq, from, to, kind] of [[1, null, '"open"', 'init'], [2, '"open"', '"closed"', 'cast']] as const) {
      const h = createHash('sha256');
      if (prev !== null) h.update(prev);
      h.update(JSON.stringify(['old', seq, 1000 + seq, from, to, kind, null, null]));
      const hash = h.digest();
      insert.run('old', seq, 1000 + seq, from, to, kind, null, null, null, prev, hash);
      prev = hash;
    }
    raw.close();
    const system = await open(db);
    expect(await system.verifyReceipts('old')).toEqual({ ok: true });
    const l = await system.spawn(ledger, { id: 'old' });
    l.cast({ type: 'close' });
    await l.call('state');
    expect((await system.receipts('old')).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(await system.verifyReceipts('old')).toEqual({ ok: true });
  });

  it('chains spread over many index buckets read back whole, in order, and carry on after a reopen', async () => {
    const db = dbFile();
    const first = await open(db, { workers: 2, journal: { bucketBits: 2 } }); // 4 rows per bucket
    const refs = await Promise.all(['x', 'y', 'z'].map((id) => first.spawn(ledger, { id })));
    for (let i = 0; i < 7; i++) for (const r of refs) r.cast({ type: i % 2 === 0 ? 'close' : 'reopen' });
    await Promise.all(refs.map((r) => r.call('state')));
    await close(first);
    const second = await open(db, { journal: { bucketBits: 3 } });
    const x = await second.spawn(ledger, { id: 'x' });
    x.cast({ type: 'close' });
    await x.call('state');
    expect((await second.receipts('x')).map((r) => [r.seq, r.event.kind])).toEqual([[1, 'init'], [2, 'cast'], [3, 'cast'], [4, 'cast'], [5, 'cast'], [6, 'cast'], [7, 'cast'], [8, 'cast'], [9, 'init'], [10, 'cast']]);
    expect((await second.receipts('y', { since: 3, limit: 2 })).map((r) => r.seq)).toEqual([4, 5]);
    for (const id of ['x', 'y', 'z']) expect(await second.verifyReceipts(id)).toEqual({ ok: true });
    const raw = new Database(db, { readonly: true });
    expect(raw.prepare('SELECT count(DISTINCT bucket) FROM receipts').pluck().get()).toBeGreaterThan(4);
    raw.close();
  });

  it('another live process holding the file is refused; a lock left by a dead one is taken over', async () => {
    const db = dbFile();
    writeFileSync(`${db}.lock`, String(process.ppid)); // a live process that is not this one
    expect(await createSystem({ workers: 0, db, logger: { level: 'silent' } }).catch((e: unknown) => e)).toMatchObject({ code: 'journal', reason: 'in_use' });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(`${db}.lock`, dead);
    const system = await open(db);
    expect(readFileSync(`${db}.lock`, 'utf8')).toBe(String(process.pid));
    await close(system);
    expect(existsSync(`${db}.lock`)).toBe(false);
  });

  it('sha256 matches node:crypto at every padding boundary', () => {
    for (let len = 0; len <= 300; len++) {
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) bytes[i] = (i * 31 + len) & 255;
      expect(sha256(bytes).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});

/** Makes a file or directory unwritable: chattr +i as root (root ignores modes), chmod otherwise. */
function lock(path: string): void {
  if (process.getuid?.() === 0) execFileSync('chattr', ['+i', path]);
  else chmodSync(path, 0o555);
}

function unlock(path: string): void {
  if (process.getuid?.() === 0) execFileSync('chattr', ['-i', path]);
  else chmodSync(path, 0o755);
}
