/**
 * Crash safety under load: a child process (test/fixtures/crash-child.ts) drives concurrent calls
 * on 20 persistent actors (durability 'commit', the default for persistent actors) on a real
 * database file, and is killed with SIGKILL at a random moment 100–600 ms into its load; 22 such
 * rounds on the same file (workers: 2 on odd rounds, workers: 0 on even ones; SQLite synchronous
 * NORMAL on every third round, FULL otherwise), then a last run that only recovers and shuts down
 * cleanly. After every kill, from the database alone:
 *
 *  - every call the child saw answered has its receipt, and the receipts up to it reproduce
 *    exactly what the call answered (balance, state, flip count, reminder name);
 *  - each actor's chain is seq 1..n with no gap and no duplicate, every row's prev_hash and hash
 *    recompute (independently of the runtime's code), and what was committed before is still
 *    there; the `threadstate verify` command line agrees every few rounds, and at the end the
 *    runtime's verifier and a recomputation from seq 1 do too;
 *  - each persistent actor's snapshot is at its chain's head and agrees with its receipts (data,
 *    state, armed timers as absolute deadlines); no reminder fires twice or unarmed.
 *
 * And when the next child starts on the same file: each actor resumes at its last committed
 * snapshot — so at or past the last answer any child saw — and the reminders that fell due while
 * no process ran fire, in deadline order, before anything else happens to the actor.
 *
 * The only randomness is the moment of each kill. Waits are on the child's own reports (its
 * stdout), never on elapsed time, except one: before a restart the test waits until every armed
 * reminder's deadline has passed, so that all of them are due at the restart.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { unpack } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { type ReceiptRow, verifyDatabase } from '../runtime/journal.js';
import type { CrashData, CrashView } from './fixtures/crash-account.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CHILD = 'test/fixtures/crash-child.ts';
const ROUNDS = 22;
const ACTORS = 20;
const IDS = Array.from({ length: ACTORS }, (_, i) => `acct-${i}`);
/** Kills land this long after the child reports that its load has started. */
const KILL_AFTER = [100, 600] as const;
/** Generic (named) timeout, as a snapshot's timers name it (actors/event-kinds.ts). */
const GENERIC_TIMEOUT = 5;

const dir = mkdtempSync(join(tmpdir(), 'ts-crash-'));
const db = join(dir, 'crash.db');
/** The database is kept for a look when the test fails. */
let passed = false;
afterAll(() => {
  if (passed) rmSync(dir, { recursive: true, force: true });
  else console.log(`crash test: the database is kept at ${db}`);
});

// ------------------------------------------------------------------ the child

type Line =
  | { t: 'start'; t0: number; pid: number }
  | ({ t: 'recovered'; id: string; waited: number } & CrashView)
  | { t: 'load'; at: number }
  | { t: 'done' }
  | ({ t: 'ans'; id: string; op: 'deposit' | 'flip' | 'remind'; name?: string } & Omit<CrashView, 'fired'>)
  | { t: 'error'; what: string; error: string };

type Run = { lines: Line[]; code: number | null; signal: NodeJS.Signals | null; stderr: string; killDelay: number | null };

/** Runs one child: under 'load', SIGKILLs it a random moment after its load starts; under
 *  'recover', lets it finish. Collects its reports. */
function runChild(round: number, mode: 'load' | 'recover'): Promise<Run> {
  const workers = round % 2 === 1 ? 2 : 0;
  const synchronous = round % 3 === 2 ? 'normal' : 'full';
  const args = ['--import', 'tsx', CHILD, db, String(workers), synchronous, String(round), String(ACTORS), mode];
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { cwd: root, stdio: 'pipe' });
  const lines: Line[] = [];
  let stderr = '';
  let partial = '';
  let killDelay: number | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  // A child that never reaches its load (a hang) is killed too; the round then fails below.
  const hang = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop() as string;
    for (const p of parts) {
      let line: Line;
      try {
        line = JSON.parse(p) as Line;
      } catch {
        line = { t: 'error', what: 'a stdout line that is not a report', error: p };
      }
      lines.push(line);
      if (line.t === 'load' && mode === 'load') {
        clearTimeout(hang);
        killDelay = KILL_AFTER[0] + Math.floor(Math.random() * (KILL_AFTER[1] - KILL_AFTER[0]));
        killTimer = setTimeout(() => child.kill('SIGKILL'), killDelay);
      }
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hang);
      if (killTimer !== null) clearTimeout(killTimer);
      // A write cut by the kill would be a partial last line: a write is one synchronous call
      // of a short buffer, so there is none (and an answer not fully written was not seen).
      if (partial !== '') stderr += `\n[partial stdout line: ${partial}]`;
      resolve({ lines, code, signal, stderr, killDelay });
    });
  });
}

// ------------------------------------------------------------------ the database, read-only

type Row = Omit<ReceiptRow, 'actor'>;
type Timer = [kind: number, name: string | null, deadline: number, msg: unknown];
type Snap = { seq: number; machine: string; state: unknown; data: CrashData; timers: Timer[] };
/** One actor as the database has it: its receipts from seq `from` on, and what tells whether
 *  the ones before are still as they were. */
type Stored = { count: number; maxSeq: number; hashAt: Buffer | null; rows: Row[]; snap: Snap | undefined };

/** Reads each actor's receipts after the first `known(id)` (which were checked before), and its snapshot. */
function readDb(known: (id: string) => number): { actors: Map<string, Stored>; names: string[] } {
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const key = h.prepare('SELECT id FROM actors WHERE name = ?').pluck();
    const stats = h.prepare('SELECT count(*) AS count, coalesce(max(seq), 0) AS maxSeq FROM receipts WHERE actor = ?');
    const hashAt = h.prepare('SELECT hash FROM receipts WHERE actor = ? AND seq = ?').pluck();
    const after = h.prepare('SELECT * FROM receipts WHERE actor = ? AND seq > ? ORDER BY seq, rowid');
    const snap = h.prepare('SELECT seq, machine, body FROM snapshots WHERE actor = ?');
    const actors = new Map<string, Stored>();
    for (const id of IDS) {
      const k = key.get(id) as number | undefined;
      if (k === undefined) {
        actors.set(id, { count: 0, maxSeq: 0, hashAt: null, rows: [], snap: undefined });
        continue;
      }
      const n = known(id);
      const s = snap.get(k) as { seq: number; machine: string; body: Buffer } | undefined;
      actors.set(id, {
        ...(stats.get(k) as { count: number; maxSeq: number }),
        hashAt: n === 0 ? null : ((hashAt.get(k, n) as Buffer | undefined) ?? null),
        rows: after.all(k, n) as Row[],
        snap: s === undefined ? undefined : { seq: s.seq, machine: s.machine, ...(unpack(s.body) as Omit<Snap, 'seq' | 'machine'>) },
      });
    }
    return { actors, names: h.prepare('SELECT name FROM actors ORDER BY id').pluck().all() as string[] };
  } finally {
    h.close();
  }
}

/** Every chain, verified by the runtime's own verifier (what `threadstate verify` runs). */
function runtimeVerify(): ReturnType<typeof verifyDatabase> {
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return verifyDatabase(h);
  } finally {
    h.close();
  }
}

/** The chain's hash, recomputed here from its definition: H(prev ‖ JSON [actor, seq, at, from, to, kind, type, reason] ‖ meta). */
function rowHash(actor: string, prev: Buffer | null, r: Row): Buffer {
  const text = JSON.stringify([actor, r.seq, r.at, r.from_state, r.to_state, r.event_kind, r.event_type, r.reason]);
  return createHash('sha256')
    .update(prev ?? Buffer.alloc(0))
    .update(text)
    .update(r.meta ?? Buffer.alloc(0))
    .digest();
}

/** A list of what is wrong, checked with plain code (an expect per row would dominate the run). */
class Problems {
  readonly list: string[] = [];
  check(ok: boolean, what: () => string): boolean {
    if (!ok) this.list.push(what());
    return ok;
  }
  /** Deep equality (as JSON, object keys in any order). */
  same(actual: unknown, expected: unknown, what: string): boolean {
    const a = canonical(actual);
    const e = canonical(expected);
    return this.check(a === e, () => `${what}: got ${a}, expected ${e}`);
  }
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

type OpMeta = { ops: number; op: 'deposit' | 'flip' | 'remind'; amount?: number; flips?: number; name?: string };
type View = { state: string; balance: number; ops: number; flips: number };

/**
 * What the test knows of one actor's chain: rows 1..n checked (seq, prev_hash, hash recomputed,
 * content), and what they say happened — every op with the view after it, every reminder armed
 * and fired. Each row is checked once, when it first appears; the rows before are then shown to
 * be still there by the count and the hash at seq n, and the whole chain is verified again by the
 * command line every few rounds and by the runtime's verifier and a full recomputation at the end.
 */
class Chain {
  n = 0;
  head: Buffer | null = null;
  view: View = { state: 'open', balance: 0, ops: 0, flips: 0 };
  readonly ops: OpMeta[] = [];
  readonly views: View[] = [];
  readonly fired: string[] = [];
  readonly armed = new Set<string>();
  constructor(readonly id: string) {}

  /** Takes rows n+1, n+2, … ; stops at the first one that is wrong. */
  extend(p: Problems, rows: Row[]): void {
    const id = this.id;
    for (const r of rows) {
      const at = `${id} seq ${r.seq}`;
      if (!p.check(r.seq === this.n + 1, () => `${id}: seq ${r.seq} follows seq ${this.n} (a gap or a duplicate)`)) return;
      const linked = this.head === null ? r.prev_hash === null : r.prev_hash !== null && this.head.equals(r.prev_hash);
      if (!p.check(linked, () => `${at}: prev_hash is not the previous row's hash`)) return;
      if (!p.check(rowHash(id, this.head, r).equals(r.hash), () => `${at}: the hash does not recompute`)) return;
      if (!this.take(p, r, at)) return;
      this.n = r.seq;
      this.head = r.hash;
    }
  }

  private take(p: Problems, r: Row, at: string): boolean {
    if (r.seq === 1) return p.same([r.event_kind, r.from_state, r.to_state], ['init', null, '"open"'], `${at}: the first receipt`);
    const meta = r.meta === null ? null : (unpack(r.meta) as Record<string, unknown>);
    if (r.reason === 'op') {
      const m = meta as OpMeta;
      if (!p.same(m.ops, this.view.ops + 1, `${at}: op number`)) return false;
      let v: View = { ...this.view, ops: m.ops };
      if (m.op === 'deposit') v.balance += m.amount as number;
      else if (m.op === 'flip') {
        v = { ...v, flips: v.flips + 1, state: v.state === 'open' ? 'held' : 'open' };
        if (!p.same(m.flips, v.flips, `${at}: flip count`)) return false;
      } else {
        if (!p.check(!this.armed.has(m.name as string) && !this.fired.includes(m.name as string), () => `${at}: reminder ${m.name} armed twice`)) return false;
        this.armed.add(m.name as string);
      }
      if (!p.same([r.event_kind, r.event_type, r.from_state, r.to_state], ['call', m.op, JSON.stringify(v.state), JSON.stringify(v.state)], `${at}: op receipt`)) return false;
      this.view = v;
      this.ops.push(m);
      this.views.push(v);
      return true;
    }
    if (r.reason === 'fired') {
      const m = meta as { name: string; total: number };
      // Each reminder fires once: never one that was not armed, never one twice (not even across a restart).
      if (!p.check(this.armed.delete(m.name), () => `${at}: reminder ${m.name} fired but was not armed (or fired twice)`)) return false;
      this.fired.push(m.name);
      return p.same([r.event_kind, r.event_type, m.total], ['generic_timeout', m.name, this.fired.length], `${at}: fired receipt`);
    }
    // A flip's transition receipt, right after its op receipt (a second init lands here too).
    const s = this.view.state;
    return p.same(
      [r.reason, r.event_kind, r.event_type, r.from_state, r.to_state, this.ops.at(-1)?.op],
      [null, 'call', 'flip', JSON.stringify(s === 'open' ? 'held' : 'open'), JSON.stringify(s), 'flip'],
      `${at}: transition receipt`,
    );
  }

  /** The snapshot is at the chain's head, and it is what the receipts say. */
  checkSnapshot(p: Problems, snap: Snap | undefined): void {
    const id = this.id;
    if (this.n === 0) {
      p.check(snap === undefined, () => `${id}: a snapshot without receipts`);
      return;
    }
    if (!p.check(snap !== undefined, () => `${id}: receipts without a snapshot`)) return;
    const s = snap as Snap;
    p.same([s.seq, s.machine], [this.n, 'crash_account'], `${id}: the snapshot's seq and machine`);
    p.same({ state: s.state, balance: s.data.balance, ops: s.data.ops, flips: s.data.flips }, this.view, `${id}: snapshot vs receipts`);
    p.same([s.data.firedTotal, s.data.fired], [this.fired.length, this.fired.slice(-64)], `${id}: fired reminders, snapshot vs receipts`);
    const armed = [...this.armed].sort();
    p.same(Object.keys(s.data.pending).sort(), armed, `${id}: pending reminders, snapshot vs receipts`);
    // Armed timers are in the snapshot as absolute deadlines: exactly the pending reminders.
    p.same(s.timers.map((t) => [t[0], t[1]]).sort(), armed.map((n) => [GENERIC_TIMEOUT, n]), `${id}: the snapshot's timers`);
    for (const [, name, deadline] of s.timers) {
      const want = s.data.pending[name as string] as number;
      p.check(Math.abs(deadline - want) <= 5, () => `${id}: reminder ${name} is armed for ${deadline}, asked for ${want}`);
    }
  }
}

// ------------------------------------------------------------------ the test

describe('SIGKILL under durable load', () => {
  it(`${ROUNDS} kills at random moments: answered calls have their receipts, chains verify, actors resume, due timers fire`, async () => {
    const started = Date.now();
    const chains = new Map(IDS.map((id) => [id, new Chain(id)]));
    /** Snapshots as the last check saw them. */
    let snaps = new Map<string, Snap | undefined>();
    /** Per actor, the furthest any child has seen it answered (over all rounds so far). */
    const answered = new Map<string, { ops: number; firedTotal: number }>();
    const stats = { answers: 0, dueAtRestart: 0, killDelays: [] as number[], resumedAhead: 0, childSeconds: 0, checkSeconds: 0, cli: 0 };

    for (let round = 0; round <= ROUNDS; round++) {
      const last = round === ROUNDS;
      // Every reminder armed before the kill is due when the next child starts (a wait, not an assertion).
      const dueBy = Math.max(0, ...[...snaps.values()].flatMap((s) => s?.timers.map((t) => t[2]) ?? [])) + 2;
      while (Date.now() < dueBy) await new Promise((r) => setTimeout(r, dueBy - Date.now()));

      const t = Date.now();
      const run = await runChild(round, last ? 'recover' : 'load');
      const t1 = Date.now();
      stats.childSeconds += (t1 - t) / 1000;
      const ctx = `round ${round} (stderr: ${run.stderr || 'empty'})`;
      expect(run.lines.filter((l) => l.t === 'error'), ctx).toEqual([]);
      if (last) expect([run.code, run.signal, run.lines.at(-1)], ctx).toEqual([0, null, { t: 'done' }]);
      else {
        // It was killed under load, not dead of anything else.
        expect(run.lines.some((l) => l.t === 'load'), `${ctx}: the child never started its load`).toBe(true);
        expect([run.code, run.signal], ctx).toEqual([null, 'SIGKILL']);
        stats.killDelays.push(run.killDelay as number);
      }
      const start = run.lines[0] as Extract<Line, { t: 'start' }>;
      expect(start.t, ctx).toBe('start');
      const p = new Problems();

      // Recovery: each actor resumed from the snapshot committed before the kill — at or past
      // what had been answered — and the reminders due at the restart fired, in deadline order.
      const recovered = run.lines.filter((l): l is Extract<Line, { t: 'recovered' }> => l.t === 'recovered');
      expect(recovered.map((r) => r.id).sort(), ctx).toEqual([...IDS].sort());
      for (const r of recovered) {
        const snap = snaps.get(r.id);
        const seen = answered.get(r.id) ?? { ops: 0, firedTotal: 0 };
        const where = `round ${round}: ${r.id}`;
        p.check(r.ops >= seen.ops && r.firedTotal >= seen.firedTotal, () => `${where}: resumed at op ${r.ops} / ${r.firedTotal} fired, behind its last answer (op ${seen.ops} / ${seen.firedTotal} fired)`);
        if (r.ops > seen.ops) stats.resumedAhead++;
        if (snap === undefined) {
          // Never committed: it starts afresh (and nothing of it was ever answered).
          p.same({ ...r, t: undefined, id: undefined, waited: undefined }, { state: 'open', balance: 0, ops: 0, flips: 0, firedTotal: 0, fired: [], pending: {} }, `${where}: a fresh start`);
          continue;
        }
        p.same({ state: r.state, balance: r.balance, ops: r.ops, flips: r.flips }, { state: snap.state, balance: snap.data.balance, ops: snap.data.ops, flips: snap.data.flips }, `${where}: resumed vs its last snapshot`);
        const due = [...snap.timers].sort((a, b) => a[2] - b[2]).map((tm) => tm[1] as string);
        stats.dueAtRestart += due.length;
        for (const tm of snap.timers) p.check(tm[2] <= start.t0, () => `${where}: reminder ${tm[1]} (${tm[2]}) was not due at the restart (${start.t0})`);
        p.same(r.firedTotal, snap.data.firedTotal + due.length, `${where}: reminders fired after the restart`);
        p.same(r.fired.slice(r.fired.length - due.length), due, `${where}: the due reminders, in deadline order`);
        p.same(r.pending, {}, `${where}: reminders still pending after the restart`);
      }

      // The database after the kill.
      const now = readDb((id) => (chains.get(id) as Chain).n);
      p.check(now.names.every((n) => IDS.includes(n)), () => `round ${round}: unexpected actors ${now.names.join(', ')}`);
      const byActor = new Map<string, Extract<Line, { t: 'ans' | 'recovered' }>[]>(IDS.map((id) => [id, []]));
      for (const l of run.lines) if (l.t === 'ans' || l.t === 'recovered') byActor.get(l.id)?.push(l);
      for (const id of IDS) {
        const where = `round ${round}: ${id}`;
        const chain = chains.get(id) as Chain;
        const stored = now.actors.get(id) as Stored;
        // What was committed before is still there, unchanged up to the head the last check saw;
        // the chain goes on from it without a gap or a duplicate.
        const old = chain.n;
        p.check(stored.count === stored.maxSeq, () => `${where}: ${stored.count} receipts numbered up to ${stored.maxSeq} (a gap or a duplicate)`);
        p.check(stored.maxSeq >= old && (old === 0 || stored.hashAt?.equals(chain.head as Buffer) === true), () => `${where}: committed receipt ${old} is gone or changed`);
        chain.extend(p, stored.rows);
        p.check(chain.n === stored.maxSeq, () => `${where}: checked up to seq ${chain.n} of ${stored.maxSeq}`);
        chain.checkSnapshot(p, stored.snap);
        // The reminders due at the restart fired before anything else happened to the actor.
        const snap = snaps.get(id);
        if (snap !== undefined) {
          const due = [...snap.timers].sort((a, b) => a[2] - b[2]).map((tm) => tm[1]);
          p.same(stored.rows.slice(0, due.length).map((r) => [r.reason, r.event_type]), due.map((n) => ['fired', n]), `${where}: the receipts after the restart`);
        }
        // Every call this child saw answered is in the database, and the receipts up to it say
        // exactly what it answered.
        let seen = answered.get(id) ?? { ops: 0, firedTotal: 0 };
        for (const l of byActor.get(id) ?? []) {
          if (l.t === 'ans') stats.answers++;
          seen = { ops: Math.max(seen.ops, l.ops), firedTotal: Math.max(seen.firedTotal, l.firedTotal) };
          if (l.ops === 0) continue;
          const v = chain.views[l.ops - 1];
          if (!p.check(v !== undefined, () => `${where}: answered op ${l.ops} has no receipt (the chain has ${chain.views.length} ops)`)) break;
          p.same({ state: l.state, balance: l.balance, ops: l.ops, flips: l.flips }, v, `${where}: op ${l.ops} as answered vs as its receipts say`);
          if (l.t === 'ans') p.same([chain.ops[l.ops - 1]?.op, chain.ops[l.ops - 1]?.name], [l.op, l.name], `${where}: op ${l.ops}: the answered call vs its receipt`);
        }
        const committed = stored.snap?.data;
        p.check((committed?.ops ?? 0) >= seen.ops, () => `${where}: op ${seen.ops} was answered, the snapshot is at op ${committed?.ops ?? 0}`);
        p.check((committed?.firedTotal ?? 0) >= seen.firedTotal, () => `${where}: ${seen.firedTotal} fired reminders were answered, the snapshot has ${committed?.firedTotal ?? 0}`);
        answered.set(id, seen);
      }
      expect(p.list.slice(0, 20), `round ${round}: ${p.list.length} problems`).toEqual([]);
      if (!last) expect(run.lines.filter((l) => l.t === 'ans').length, `round ${round}: no call was answered before the kill`).toBeGreaterThan(0);

      // The command line verifies every chain in full, every few rounds and at the end (it
      // costs a process start).
      if (round % 6 === 5 || last) {
        expect(await runCli(['verify', db]), `round ${round}: threadstate verify`).toEqual({ code: 0, stdout: `ok: ${ACTORS} hash chains verify\n`, stderr: '' });
        stats.cli++;
      }
      stats.checkSeconds += (Date.now() - t1) / 1000;
      snaps = new Map(IDS.map((id) => [id, (now.actors.get(id) as Stored).snap]));
    }

    // At the end, every chain once more from seq 1: the runtime's verifier, and a fresh
    // recomputation that must land on the same heads.
    expect(runtimeVerify()).toEqual({ ok: true, actors: ACTORS });
    const full = readDb(() => 0);
    const p = new Problems();
    for (const id of IDS) {
      const fresh = new Chain(id);
      fresh.extend(p, (full.actors.get(id) as Stored).rows);
      const chain = chains.get(id) as Chain;
      p.check(fresh.n === chain.n && fresh.head?.equals(chain.head as Buffer) === true, () => `${id}: the chain from seq 1 does not end where the rounds left it`);
    }
    expect(p.list.slice(0, 20)).toEqual([]);

    // The load was real: calls were answered, reminders were pending at kills and fired at restarts.
    expect(stats.answers).toBeGreaterThan(ROUNDS * 50);
    expect(stats.dueAtRestart).toBeGreaterThanOrEqual(10);
    passed = true;
    console.log(
      `crash test: ${ROUNDS} SIGKILLs (after ${stats.killDelays.join(', ')} ms of load) and a clean recovery in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(children ${stats.childSeconds.toFixed(1)} s, checks ${stats.checkSeconds.toFixed(1)} s with ${stats.cli} command-line verifies); ` +
        `${stats.answers} answered calls checked, ${[...chains.values()].reduce((n, c) => n + c.n, 0)} receipts; ` +
        `${stats.dueAtRestart} reminders due at restarts; ${stats.resumedAhead} resumes past the last answer`,
    );
  }, 180_000);
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'runtime/cli.ts', ...args], { cwd: root, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
