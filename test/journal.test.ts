/**
 * The journal (SQLite, a real database file): a receipt for every state change and every
 * receipt() action, per-actor sequence numbers without gaps, a hash chain that detects
 * tampering (through the API and the command line), and the chain carried on by a new system
 * opening the same file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSystem, InvalidArgumentError, JournalError, type ActorSystem } from 'threadstate';
import { ledger } from './fixtures/journal.js';

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((s) => s.shutdown()));
  systems = [];
});

const root = fileURLToPath(new URL('..', import.meta.url));
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'ts-journal-')), 'receipts.db');

async function open(workers: number, db: string): Promise<ActorSystem> {
  const system = await createSystem({ workers, db, logger: { level: 'silent' } });
  systems.push(system);
  return system;
}

describe.each([0, 2])('receipts (workers: %i)', (workers) => {
  it('every state change and every receipt() action leaves a receipt, in order, chained', async () => {
    const db = dbFile();
    const system = await open(workers, db);
    const ref = await system.spawn(ledger, { id: 'acct-1' });
    ref.cast({ type: 'post', amount: 5 });
    ref.cast({ type: 'close' });
    ref.cast({ type: 'reopen' });
    expect(await ref.call('state')).toBe('open');
    const rows = await system.receipts('acct-1');
    expect(rows.map((r) => [r.seq, r.event.kind, r.event.type, r.from, r.to, r.reason, r.meta])).toEqual([
      [1, 'init', null, undefined, 'open', null, undefined],
      [2, 'cast', 'post', 'open', 'open', 'posted', { amount: 5 }],
      [3, 'cast', 'close', 'open', 'closed', null, undefined],
      [4, 'cast', 'reopen', 'closed', 'open', null, undefined],
    ]);
    expect(await system.verifyReceipts('acct-1')).toEqual({ ok: true });
    expect((await system.receipts('acct-1', { since: 2, limit: 1 })).map((r) => r.seq)).toEqual([3]);
  });
});

describe('tampering, reopening, bad input', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('a tampered receipt breaks the chain: verifyReceipts and `threadstate verify` name the actor and seq', async () => {
    const db = dbFile();
    const system = await open(0, db);
    const ref = await system.spawn(ledger, { id: 'acct-2' });
    for (let i = 0; i < 5; i++) ref.cast({ type: 'post', amount: i });
    await ref.call('state');
    await system.shutdown();
    const cli = (args: string[]) => spawnSync(process.execPath, ['dist/runtime/cli.js', ...args], { cwd: root, encoding: 'utf8' });
    expect(cli(['verify', db]).status).toBe(0);
    expect(cli(['receipts', db, 'acct-2']).stdout.trim().split('\n')).toHaveLength(6);
    const raw = new Database(db);
    raw.prepare("UPDATE receipts SET reason = 'forged' WHERE actor = (SELECT id FROM actors WHERE name = 'acct-2') AND seq = 4").run();
    raw.close();
    const verify = cli(['verify', db]);
    expect(verify.status).toBe(1);
    expect(verify.stderr).toMatch(/actor 'acct-2' at seq 4/);
    const again = await open(0, db);
    expect(await again.verifyReceipts('acct-2')).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('a new system on the same file carries the chain on: no gap, no duplicate', async () => {
    const db = dbFile();
    const first = await open(2, db);
    const a = await first.spawn(ledger, { id: 'acct-3' });
    a.cast({ type: 'close' });
    await a.call('state');
    await first.shutdown();
    const second = await open(0, db);
    const b = await second.spawn(ledger, { id: 'acct-3' });
    b.cast({ type: 'post', amount: 1 });
    await b.call('state');
    expect((await second.receipts('acct-3')).map((r) => [r.seq, r.event.kind])).toEqual([
      [1, 'init'],
      [2, 'cast'],
      [3, 'init'],
      [4, 'cast'],
    ]);
    expect(await second.verifyReceipts('acct-3')).toEqual({ ok: true });
  });

  it('bad input: a missing directory, a newer schema, no journal', async () => {
    await expect(createSystem({ workers: 0, db: '/no/such/dir/x.db', logger: { level: 'silent' } })).rejects.toBeInstanceOf(JournalError);
    const db = dbFile();
    const raw = new Database(db);
    raw.pragma('user_version = 99');
    raw.close();
    const err = await createSystem({ workers: 0, db, logger: { level: 'silent' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect((err as Error).message).toMatch(/newer/);
    const plain = await createSystem({ workers: 0, db: false, logger: { level: 'silent' } });
    systems.push(plain);
    await expect(plain.receipts('x')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
