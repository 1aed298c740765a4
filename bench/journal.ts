/**
 * Scenarios 15–17 — the journal (SQLite receipts, runtime/journal.ts), on real database files in
 * a temporary directory that is removed afterwards:
 *
 * 15. Durable transitions: actors that flip 'a' ⇄ 'b' on every call (one call = one transition =
 *     one receipt), driven by one driver actor per shard, IN_FLIGHT calls in flight in all, to
 *     actors on its own shard (so the main thread does the journal's work only). Transitions/s
 *     and per-call latency (timed in the driver: call → reply) for durability 'commit' at
 *     synchronous=FULL and NORMAL, next to 'async' and 'none', under the same load, each on a
 *     fresh database file. Also: CPU of the whole process and how busy the main thread (where
 *     every commit runs) was, the file bytes per receipt and the bytes written per receipt (write
 *     syscalls, Linux). Baselines: the other modes, and bare SQLite inserting the same rows.
 * 16. Recovery: RECOVER persistent actors created (and flipped once each) in one system, shut
 *     down, then resumed in a new system on the same file: spawn each by id with
 *     persistent: true (SPAWN_CHUNK spawns in flight), then a non-transition call to each
 *     (CALL_CHUNK in flight); timed until all spawns resolved, and until all answered. Then
 *     the same again on workers: 0 (the baseline column).
 * 17. Receipt query: a database holding QUERY_ACTORS × QUERY_PER receipts (the journal's schema,
 *     made by the journal itself; the rows bulk-inserted with one SQL statement, in commit
 *     order round robin over the actors — so one actor's rows are scattered over as many pages
 *     as it has receipts, the worst case — then the index built). Time of `system.receipts(id)`
 *     for one actor, median over QUERY_SAMPLES random actors, next to the bare SQL query.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { child, createSystem, supervisor, type ActorRef, type ActorSystem, type Durability } from 'threadstate';
import { check, median, nowNs, type Profiled, row, type Row, size } from './harness.js';
import { driver, type DriveReport, flip, FLIP, GET } from './journal-machines.js';
import { BUCKET_BITS } from '../runtime/journal.js';

// ---------------------------------------------------------------- sizes

/** 15: actors flipped (split evenly over the shards); calls kept in flight in all (split over
 *  the drivers); calls timed, after a warm-up. Also with fewer calls in flight (less queueing). */
const ACTORS = 4000;
const IN_FLIGHT = Number(process.env.JOURNAL_IN_FLIGHT ?? 4000);
const CALLS = size(600_000, 150_000);
const WARMUP = size(100_000, 40_000);
const LIGHT_IN_FLIGHT = 200;
const LIGHT_CALLS = size(100_000, 30_000);
/** 15, baseline: bare SQLite inserts of receipt-shaped rows, TX_ROWS per transaction. */
const TX_ROWS = 2000;
/** 16: persistent actors recovered. */
const RECOVER = size(100_000, 20_000);
const SPAWN_CHUNK = 5000;
const CALL_CHUNK = 10_000;
/** 17: receipts in the queried database: actors × receipts each. */
const QUERY_ACTORS = 100_000;
const QUERY_PER = size(100, 10);
const QUERY_SAMPLES = 100;

const WORKERS = 2;

// ---------------------------------------------------------------- temporary files

const dirs = new Set<string>();
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'threadstate-bench-journal-'));
  dirs.add(d);
  return d;
}

function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

/** Bytes of the database and its -wal/-shm files. */
function dirBytes(d: string): number {
  let n = 0;
  for (const f of readdirSync(d)) n += statSync(join(d, f)).size;
  return n;
}

function open(db: string, workers: number, durability?: Durability, synchronous?: 'full' | 'normal'): Promise<ActorSystem> {
  return createSystem({ workers, db, durability, journal: synchronous === undefined ? undefined : { synchronous }, logger: { level: 'silent' } });
}

function countReceipts(db: string): number {
  const raw = new Database(db, { readonly: true });
  try {
    return raw.prepare('SELECT count(*) FROM receipts').pluck().get() as number;
  } finally {
    raw.close();
  }
}

/** Bytes this process has passed to write syscalls so far (Linux), or NaN. */
function bytesWritten(): number {
  try {
    const m = /^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/** Nearest-rank percentile of a sorted array. */
function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/** A small deterministic PRNG (mulberry32), so every run queries the same actors. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- 15. durable transitions

interface Mode {
  label: string;
  durability: Durability;
  synchronous?: 'full' | 'normal';
}

const COMMIT_FULL: Mode = { label: 'commit, FULL', durability: 'commit', synchronous: 'full' };
const COMMIT_NORMAL: Mode = { label: 'commit, NORMAL', durability: 'commit', synchronous: 'normal' };
const ASYNC: Mode = { label: 'async', durability: 'async', synchronous: 'full' };
const NONE: Mode = { label: 'none', durability: 'none' };

interface Figures {
  rate: number;
  p50: number;
  p99: number;
  max: number;
  /** Process CPU time (all threads) over wall time, in % of one core. */
  cpu: number;
  /** Event-loop utilisation of the main thread (the journal's), %. */
  mainBusy: number;
  /** Bytes written (write syscalls) per call during the timed part. */
  writtenPerCall: number;
  receipts: number;
  bytesPerReceipt: number;
}

interface Load {
  calls: number;
  inFlight: number;
}

const HEAVY: Load = { calls: CALLS, inFlight: IN_FLIGHT };
const LIGHT: Load = { calls: LIGHT_CALLS, inFlight: LIGHT_IN_FLIGHT };

async function durableRun(mode: Mode, workers: number, load: Load, profiled?: Profiled): Promise<Figures> {
  const dir = tempDir();
  const db = join(dir, 'journal.db');
  const shards = Math.max(1, workers);
  const system = await open(db, workers, mode.durability, mode.synchronous);
  let figures: Omit<Figures, 'receipts' | 'bytesPerReceipt'>;
  try {
    // Targets and one driver per shard, the driver's targets on its own shard.
    const idsOf: string[][] = [];
    const drivers: ActorRef[] = [];
    for (let s = 0; s < shards; s++) {
      const ids = Array.from({ length: ACTORS / shards }, (_, i) => `flip-${s}-${i}`);
      for (let from = 0; from < ids.length; from += 1000) {
        await Promise.all(ids.slice(from, from + 1000).map((id) => system.spawn(flip, { id, shard: workers > 0 ? s : undefined })));
      }
      idsOf.push(ids);
      drivers.push(await system.spawn(driver, { id: `driver-${s}`, shard: workers > 0 ? s : undefined }));
    }
    const drive = (count: number): Promise<DriveReport[]> =>
      Promise.all(drivers.map((d, s) => d.call<DriveReport>({ ids: idsOf[s], count: count / shards, window: load.inFlight / shards }, { timeout: 600_000 })));

    await drive(WARMUP);
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const w0 = bytesWritten();
    const t0 = nowNs();
    let reports: DriveReport[] = [];
    if (profiled === undefined) reports = await drive(load.calls);
    else await profiled(async () => void (reports = await drive(load.calls)));
    const ns = nowNs() - t0;
    const written = bytesWritten() - w0;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);

    const all = new Float64Array(load.calls);
    let o = 0;
    for (const r of reports) {
      check(r.latencies.length === load.calls / shards, `a driver reported ${r.latencies.length} latencies`);
      all.set(r.latencies, o);
      o += r.latencies.length;
    }
    all.sort();
    check((all[0] as number) > 0, 'every call was timed');
    // Ask the first actor of a driver (its first target of every round robin) how often it flipped.
    const flips = Math.ceil(WARMUP / ACTORS) + Math.ceil(load.calls / ACTORS);
    const probe = (await system.ref(idsOf[0]?.[0] as string).call(GET)) as [string, number];
    check(probe[1] === flips && probe[0] === (flips % 2 === 0 ? 'a' : 'b'), `the probe actor answered ${JSON.stringify(probe)} after ${flips} flips`);
    figures = {
      rate: (load.calls * 1e9) / ns,
      p50: pct(all, 50),
      p99: pct(all, 99),
      max: all[all.length - 1] as number,
      cpu: ((cpu.user + cpu.system) / 1e3 / (ns / 1e6)) * 100,
      mainBusy: elu.utilization * 100,
      writtenPerCall: written / load.calls,
    };
  } finally {
    await system.shutdown();
  }
  const receipts = countReceipts(db);
  // Every transition has its receipt: each actor's init, each driver's init, every flip.
  const expected = mode.durability === 'none' ? 0 : ACTORS + shards + WARMUP + load.calls;
  check(receipts === expected, `${mode.label}: ${receipts} receipts in the file, expected ${expected}`);
  const bytes = dirBytes(dir);
  removeDir(dir);
  return { ...figures, receipts, bytesPerReceipt: receipts === 0 ? NaN : bytes / receipts };
}

/**
 * The floor under the journal: SQLite alone (same schema, file and pragmas as the journal's),
 * inserting receipt-shaped rows for ACTORS actors round robin, TX_ROWS per transaction (about
 * what one group commit of the heavy load holds), with no hashing and no threads: as many rows
 * as the heavy run writes before its timed part, untimed, then CALLS rows timed. Rows/s.
 */
async function bareSqlite(synchronous: 'full' | 'normal'): Promise<number> {
  const dir = tempDir();
  const db = join(dir, 'journal.db');
  await (await open(db, 0)).shutdown(); // the journal makes its schema
  const raw = new Database(db);
  let ns: number;
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    raw.pragma('cache_size = -65536');
    raw.pragma('wal_autocheckpoint = 10000'); // as the journal sets it
    raw.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${ACTORS}) INSERT INTO actors (id, name) SELECT i, 'flip-' || i FROM s`);
    const insert = raw.prepare('INSERT INTO receipts (rowid, bucket, actor, seq, at, from_state, to_state, event_kind, event_type, reason, meta, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const seqs = new Int32Array(ACTORS + 1);
    const hashes = Array.from({ length: 64 }, (_, i) => Buffer.alloc(32, i));
    let k = 0;
    const tx = raw.transaction(() => {
      for (let i = 0; i < TX_ROWS; i++, k++) {
        const actor = (k % ACTORS) + 1;
        const seq = ++seqs[actor];
        const odd = seq % 2 === 1;
        insert.run(k + 1, (k + 1) >> BUCKET_BITS, actor, seq, Date.now(), odd ? '"a"' : '"b"', odd ? '"b"' : '"a"', 'call', null, null, null, hashes[k & 63], hashes[(k + 1) & 63]);
      }
    });
    for (let done = 0; done < ACTORS + WARMUP; done += TX_ROWS) tx();
    const t0 = nowNs();
    for (let done = 0; done < CALLS; done += TX_ROWS) tx();
    ns = nowNs() - t0;
  } finally {
    raw.close();
  }
  removeDir(dir);
  return (Math.ceil(CALLS / TX_ROWS) * TX_ROWS * 1e9) / ns;
}

async function durableTransitions(): Promise<Row[]> {
  const S = `15. durable transitions (workers: ${WORKERS}, ${ACTORS} actors, ${IN_FLIGHT} calls in flight)`;
  const f: Record<string, Figures> = {};
  for (const m of [COMMIT_FULL, COMMIT_NORMAL, ASYNC, NONE]) f[m.label] = await durableRun(m, WORKERS, HEAVY);
  const lightFull = await durableRun(COMMIT_FULL, WORKERS, LIGHT);
  const lightNone = await durableRun(NONE, WORKERS, LIGHT);
  const w0Full = await durableRun(COMMIT_FULL, 0, HEAVY);
  const w0None = await durableRun(NONE, 0, HEAVY);
  const bareFull = await bareSqlite('full');
  const bareNormal = await bareSqlite('normal');
  const full = f[COMMIT_FULL.label] as Figures;
  const normal = f[COMMIT_NORMAL.label] as Figures;
  const async_ = f[ASYNC.label] as Figures;
  const none = f[NONE.label] as Figures;
  const others = (pick: (x: Figures) => number): Record<string, number> => ({ async: pick(async_), none: pick(none) });
  const bare = `bare SQLite, ${TX_ROWS}/tx`;
  return [
    row(S, `durable transitions/s, commit + synchronous=FULL (${CALLS / 1000}k calls)`, 'tr/s', full.rate, { ...others((x) => x.rate), [bare]: bareFull }, { op: '>=', value: 250_000 }),
    row(S, 'durable transitions/s, commit + synchronous=NORMAL', 'tr/s', normal.rate, { ...others((x) => x.rate), [bare]: bareNormal }, { op: '>=', value: 250_000 }),
    row(S, 'call latency p50, commit + FULL', 'ms', full.p50, others((x) => x.p50)),
    row(S, 'call latency p99, commit + FULL', 'ms', full.p99, others((x) => x.p99), { op: '<=', value: 10 }),
    row(S, 'call latency p50, commit + NORMAL', 'ms', normal.p50, others((x) => x.p50)),
    row(S, 'call latency p99, commit + NORMAL', 'ms', normal.p99, others((x) => x.p99), { op: '<=', value: 10 }),
    row(S, 'call latency max, commit + FULL', 'ms', full.max, others((x) => x.max)),
    row(S, 'process CPU, commit + FULL (2 cores: 200)', '%', full.cpu, others((x) => x.cpu)),
    row(S, 'main thread (journal) busy, commit + FULL', '%', full.mainBusy, others((x) => x.mainBusy)),
    row(S, 'file bytes per receipt, commit + FULL', 'B', full.bytesPerReceipt, { async: async_.bytesPerReceipt }),
    row(S, 'bytes written per transition (write syscalls), commit + FULL', 'B', full.writtenPerCall, others((x) => x.writtenPerCall)),
    row(S, `${LIGHT_IN_FLIGHT} in flight: transitions/s, commit + FULL`, 'tr/s', lightFull.rate, { none: lightNone.rate }),
    row(S, `${LIGHT_IN_FLIGHT} in flight: call latency p50, commit + FULL`, 'ms', lightFull.p50, { none: lightNone.p50 }),
    row(S, `${LIGHT_IN_FLIGHT} in flight: call latency p99, commit + FULL`, 'ms', lightFull.p99, { none: lightNone.p99 }),
    row(S, 'workers: 0 — transitions/s, commit + FULL', 'tr/s', w0Full.rate, { none: w0None.rate }),
    row(S, 'workers: 0 — call latency p50, commit + FULL', 'ms', w0Full.p50, { none: w0None.p50 }),
    row(S, 'workers: 0 — call latency p99, commit + FULL', 'ms', w0Full.p99, { none: w0None.p99 }),
  ];
}

// ---------------------------------------------------------------- 16. recovery

async function inChunks<T>(n: number, chunk: number, start: (i: number) => Promise<T>, each?: (v: T, i: number) => void): Promise<void> {
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk);
    const ps: Promise<T>[] = [];
    for (let i = from; i < to; i++) ps.push(start(i));
    const vs = await Promise.all(ps);
    if (each !== undefined) for (let i = from; i < to; i++) each(vs[i - from] as T, i);
  }
}

interface Resumed {
  /** createSystem on the file (shards starting), before the clock starts. */
  startMs: number;
  /** From the first spawn until every spawn has resolved. */
  spawnedMs: number;
  /** From the first spawn until every actor has answered a call as well. */
  answeredMs: number;
  /** Shutting the system down afterwards (every actor stopped). */
  shutdownMs: number;
}

const since = (t0: number): number => (nowNs() - t0) / 1e6;
const acct = (i: number): string => `acct-${i}`;

/** Resumes all RECOVER actors in a new system on `db`; each must be as it was left: ['b', 1]. */
/** Starts a tree whose simple_one_for_one supervisor brings back every persistent child. */
async function resumeSupervised(db: string, workers: number): Promise<number> {
  const system = await open(db, workers);
  try {
    const t = nowNs();
    const root = await system.start(supervisor('accounts', { strategy: 'simple_one_for_one', template: child('acct', flip, { persistent: true }) }));
    const ms = since(t);
    check(root.countChildren().workers === RECOVER, `the supervisor brought back ${root.countChildren().workers} of ${RECOVER}`);
    const v = await system.ref(acct(RECOVER - 1)).call<[string, number]>(GET, { timeout: 60_000 });
    check(v[0] === 'b' && v[1] === 1, `resumed as ${JSON.stringify(v)}`);
    return ms;
  } finally {
    await system.shutdown();
  }
}

async function resumeAll(db: string, workers: number): Promise<Resumed> {
  let t = nowNs();
  const system = await open(db, workers);
  const startMs = since(t);
  let spawnedMs: number;
  let answeredMs: number;
  try {
    t = nowNs();
    await inChunks(RECOVER, SPAWN_CHUNK, (i) => system.spawn(flip, { id: acct(i), persistent: true }));
    spawnedMs = since(t);
    await inChunks(RECOVER, CALL_CHUNK, (i) => system.ref(acct(i)).call<[string, number]>(GET, { timeout: 60_000 }), (v, i) =>
      check(v[0] === 'b' && v[1] === 1, `${acct(i)} resumed as ${JSON.stringify(v)}, not ['b', 1]`),
    );
    answeredMs = since(t);
  } finally {
    t = nowNs();
    await system.shutdown();
  }
  return { startMs, spawnedMs, answeredMs, shutdownMs: since(t) };
}

async function recovery(): Promise<Row[]> {
  const n = `${RECOVER / 1000}k`;
  const S = `16. recovery (${n} persistent actors, workers: ${WORKERS})`;
  const dir = tempDir();
  const db = join(dir, 'journal.db');

  // Make them (a persistent spawn answers once its initial receipt and snapshot are committed),
  // flip each once (its reply waits for the commit of receipt and snapshot), shut down.
  const first = await open(db, WORKERS);
  let spawnMs: number;
  let flipMs: number;
  let t = nowNs();
  try {
    await inChunks(RECOVER, SPAWN_CHUNK, (i) => first.spawn(flip, { id: acct(i), persistent: true }));
    spawnMs = since(t);
    t = nowNs();
    await inChunks(RECOVER, CALL_CHUNK, (i) => first.ref(acct(i)).call<number>(FLIP, { timeout: 60_000 }), (v) => check(v === 1, `a first flip answered ${v}`));
    flipMs = since(t);
  } finally {
    t = nowNs();
    await first.shutdown();
  }
  const shutdownMs = since(t);
  const fileMB = dirBytes(dir) / 1e6;
  check(countReceipts(db) === 2 * RECOVER, `${RECOVER} actors left an init and a flip receipt each`);

  // Resume them all in a new system on the same file; then once more on one thread.
  const w2 = await resumeAll(db, WORKERS);
  const w0 = await resumeAll(db, 0);
  // And as the children of a simple_one_for_one supervisor (recorded as such in their snapshots),
  // brought back by the tree's start.
  const raw = new Database(db);
  raw.prepare("UPDATE snapshots SET parent = 'accounts'").run();
  raw.close();
  const sup2 = await resumeSupervised(db, WORKERS);
  const sup0 = await resumeSupervised(db, 0);
  removeDir(dir);
  return [
    row(S, `resume: spawn all (persistent: true) until all answered a call`, 'ms', w2.answeredMs, { 'workers: 0': w0.answeredMs }, { op: '<=', value: 2000 }),
    row(S, `resume: until all spawns resolved (${SPAWN_CHUNK} in flight)`, 'ms', w2.spawnedMs, { 'workers: 0': w0.spawnedMs }),
    row(S, 'resume under a simple_one_for_one supervisor: start() until all are back', 'ms', sup2, { 'workers: 0': sup0 }),
    row(S, 'before the resume: createSystem on the file', 'ms', w2.startMs, { 'workers: 0': w0.startMs }),
    row(S, 'after it: shutdown', 'ms', w2.shutdownMs, { 'workers: 0': w0.shutdownMs }),
    row(S, `making them: spawn ${n} persistent (reply after commit)`, 'ms', spawnMs),
    row(S, 'making them: flip each once (reply after commit)', 'ms', flipMs),
    row(S, 'making them: shutdown', 'ms', shutdownMs),
    row(S, 'database file (receipts + snapshots)', 'MB', fileMB),
  ];
}

// ---------------------------------------------------------------- 17. receipt query

/** The journal's own read, bare: the actor's key and last bucket, then one seek per bucket. */
function bareQuery(raw: Database.Database): (id: string) => { seq: number }[] {
  const actor = raw.prepare('SELECT id, last_bucket FROM actors WHERE name = ?');
  const rows = raw.prepare(
    'SELECT seq, at, from_state, to_state, event_kind, event_type, reason, meta, prev_hash, hash FROM receipts WHERE bucket IN (SELECT value FROM json_each(?)) AND actor = ? ORDER BY bucket, seq',
  );
  return (id) => {
    const a = actor.get(id) as { id: number; last_bucket: number };
    return rows.all(JSON.stringify(Array.from({ length: a.last_bucket + 1 }, (_, i) => i)), a.id) as { seq: number }[];
  };
}

/** Fills `db` (the journal's schema already made) with QUERY_ACTORS × QUERY_PER receipts. */
function fill(db: string): { insertMs: number; indexMs: number } {
  const raw = new Database(db);
  try {
    // A scratch file: no rollback journal, no fsync, a large cache for the index sort.
    raw.pragma('journal_mode = OFF');
    raw.pragma('synchronous = OFF');
    raw.pragma('cache_size = -262144');
    raw.pragma('temp_store = MEMORY');
    const A = QUERY_ACTORS;
    const n = A * QUERY_PER;
    const t0 = nowNs();
    raw.exec('DROP INDEX receipts_by_bucket');
    // Every actor writes in every bucket (round robin), so its last bucket is the file's last.
    raw.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${A}) INSERT INTO actors (id, name, last_bucket) SELECT i, 'q-' || i, ${n} >> ${BUCKET_BITS} FROM s`);
    // Commit order, round robin: row i is actor (i mod A) + 1's receipt number ⌊i / A⌋ + 1. The
    // chain columns hold random bytes (a query does not check them; they weigh what real ones do).
    raw.exec(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${n - 1})
      INSERT INTO receipts (rowid, bucket, actor, seq, at, from_state, to_state, event_kind, event_type, reason, meta, prev_hash, hash)
      SELECT i + 1, (i + 1) >> ${BUCKET_BITS}, i % ${A} + 1, i / ${A} + 1, 1767225600000 + i,
        CASE WHEN i < ${A} THEN NULL WHEN (i / ${A}) % 2 = 1 THEN '"a"' ELSE '"b"' END,
        CASE WHEN (i / ${A}) % 2 = 0 THEN '"a"' ELSE '"b"' END,
        CASE WHEN i < ${A} THEN 'init' ELSE 'call' END, NULL, NULL, NULL,
        CASE WHEN i < ${A} THEN NULL ELSE randomblob(32) END, randomblob(32)
      FROM s`);
    const t1 = nowNs();
    raw.exec('CREATE INDEX receipts_by_bucket ON receipts (bucket, actor, seq)');
    const t2 = nowNs();
    raw.pragma('journal_mode = WAL');
    return { insertMs: (t1 - t0) / 1e6, indexMs: (t2 - t1) / 1e6 };
  } finally {
    raw.close();
  }
}

async function receiptQuery(): Promise<Row[]> {
  const total = QUERY_ACTORS * QUERY_PER;
  const label = total >= 1e6 ? `${total / 1e6}M` : `${total / 1e3}k`;
  const S = `17. receipt query (${QUERY_PER} of one actor among ${label} receipts)`;
  const dir = tempDir();
  const db = join(dir, 'journal.db');
  const random = prng(17);
  const pick = (): string => `q-${1 + Math.floor(random() * QUERY_ACTORS)}`;
  const ok = (rows: { seq: number }[], id: string): void =>
    check(rows.length === QUERY_PER && rows[0]?.seq === 1 && rows[QUERY_PER - 1]?.seq === QUERY_PER, `${id}: ${rows.length} receipts read, expected ${QUERY_PER}`);

  await (await open(db, 0)).shutdown(); // the journal makes its schema
  const { insertMs, indexMs } = fill(db);
  const fileMB = dirBytes(dir) / 1e6;
  check(countReceipts(db) === total, `the file holds ${total} receipts`);

  // Each figure on its own random actors: none of their pages is in SQLite's cache yet (the file
  // was just written, so the OS page cache holds most of it).
  const viaApi = async (workers: number): Promise<number[]> => {
    const system = await open(db, workers);
    const out: number[] = [];
    try {
      for (let i = 0; i < 3; i++) ok(await system.receipts(pick()), 'warm-up');
      for (let i = 0; i < QUERY_SAMPLES; i++) {
        const id = pick();
        const t0 = nowNs();
        const rows = await system.receipts(id);
        out.push((nowNs() - t0) / 1e6);
        ok(rows, id);
      }
    } finally {
      await system.shutdown();
    }
    return out;
  };
  const api2 = await viaApi(WORKERS);
  const api0 = await viaApi(0);
  const bare: number[] = [];
  const bareAgain: number[] = [];
  const raw = new Database(db, { readonly: true });
  try {
    raw.pragma('cache_size = -65536'); // as the journal's connection
    const query = bareQuery(raw);
    for (let i = 0; i < 3; i++) ok(query(pick()), 'warm-up');
    const ids = Array.from({ length: QUERY_SAMPLES }, pick);
    for (const into of [bare, bareAgain]) {
      for (const id of ids) {
        const t0 = nowNs();
        const rows = query(id);
        into.push((nowNs() - t0) / 1e6);
        ok(rows, id);
      }
    }
  } finally {
    raw.close();
  }
  removeDir(dir);
  const sorted = (v: number[]): Float64Array => Float64Array.from(v).sort();
  return [
    row(S, `system.receipts(id), median of ${QUERY_SAMPLES} actors`, 'ms', median(api2), { 'workers: 0': median(api0), 'bare SQL': median(bare), 'bare SQL, cached': median(bareAgain) }, { op: '<=', value: 5 }),
    row(S, `system.receipts(id), p99 of ${QUERY_SAMPLES} actors`, 'ms', pct(sorted(api2), 99), { 'workers: 0': pct(sorted(api0), 99), 'bare SQL': pct(sorted(bare), 99), 'bare SQL, cached': pct(sorted(bareAgain), 99) }),
    row(S, `fill: ${label} rows, one INSERT … SELECT (index dropped)`, 'ms', insertMs),
    row(S, 'fill: then CREATE INDEX receipts_by_bucket', 'ms', indexMs),
    row(S, 'database file', 'MB', fileMB),
  ];
}

/** For profile.ts: the main thread (where every commit runs) during the timed commit + FULL run
 *  at workers: 2 (JOURNAL_PROFILE=normal|async|none|w0 profiles another run instead, JOURNAL_LOAD=light
 *  the light load). */
export async function profileWorkload(profiled: Profiled): Promise<void> {
  const which = process.env.JOURNAL_PROFILE;
  if (which === 'recovery') {
    // Make the persistent actors, then profile only their resume on shards.
    const dir = tempDir();
    const db = join(dir, 'journal.db');
    const first = await open(db, WORKERS);
    await inChunks(RECOVER, SPAWN_CHUNK, (i) => first.spawn(flip, { id: acct(i), persistent: true }));
    await first.shutdown();
    const system = await open(db, WORKERS);
    await profiled(() => inChunks(RECOVER, SPAWN_CHUNK, (i) => system.spawn(flip, { id: acct(i), persistent: true })).then(() => undefined));
    await system.shutdown();
    removeDir(dir);
    return;
  }
  const mode = which === 'normal' ? COMMIT_NORMAL : which === 'async' ? ASYNC : which === 'none' ? NONE : COMMIT_FULL;
  await durableRun(mode, which === 'w0' ? 0 : WORKERS, process.env.JOURNAL_LOAD === 'light' ? LIGHT : HEAVY, profiled);
}

// ---------------------------------------------------------------- all three

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const phase = async (name: string, f: () => Promise<Row[]>): Promise<void> => {
    const t0 = nowNs();
    rows.push(...(await f()));
    if (process.env.BENCH_VERBOSE === '1') process.stderr.write(`[${name} ${((nowNs() - t0) / 1e9).toFixed(1)} s] `);
  };
  const only = process.env.JOURNAL_PARTS?.split(',');
  if (only === undefined || only.includes('durable')) await phase('durable', durableTransitions);
  if (only === undefined || only.includes('recovery')) await phase('recovery', recovery);
  if (only === undefined || only.includes('query')) await phase('query', receiptQuery);
  return rows;
}
