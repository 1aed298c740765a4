/**
 * The journal: receipts and snapshots in SQLite (better-sqlite3, WAL), written on the main
 * thread, off the shards' hot path.
 *
 * Every thread that hosts actors has a JournalClient that numbers its rows ("tags") and sends
 * them here once per turn; the main thread's own client calls `submit` directly, a shard's goes
 * over its link. Everything submitted during one turn of the main thread is committed in one
 * transaction (group commit); then each source hears how far it is committed, and which of its
 * rows failed. A reply held for durability is released only by that acknowledgement.
 *
 * Receipts chain by SHA-256 per actor (runtime/receipt-hash.ts). The thread that hosts an actor
 * numbers and hashes its receipts (the hashing is spread over the shards; spawn hands an actor
 * its chain's head from here); this writer checks that each row follows its chain's head, so a
 * chain has no gap and no duplicate whatever the threads.
 *
 * A persistent actor's snapshot (state, data, armed timers as absolute deadlines, its parent
 * supervisor and spawn args) is upserted in the same transaction as its receipts.
 *
 * If a commit fails nothing of it is kept: the rows' actors are "fenced" (their later rows, from
 * the same incarnation, fail too, so no chain skips a transition) and the sources are told.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { JournalError, type JournalTrouble } from './journal-error.js';
import type { ActorRef } from './ref.js';
import { receiptHash } from './receipt-hash.js';
import { decodeValue } from './wire.js';

export { JournalError } from './journal-error.js';

export const SCHEMA_VERSION = 3;

/**
 * Receipts are indexed by (bucket, actor, seq), where a bucket is 2^17 consecutive rows. An index
 * on (actor, seq) alone puts each new receipt at its own actor's place, so a group commit over
 * thousands of actors rewrites thousands of index pages; it got 5x slower as the file grew (20 µs
 * a row at 1.4M rows over 4000 actors). Within a bucket the same commit touches only the current
 * bucket's few hundred pages, and the rate stays flat. Reading one actor's receipts is one index
 * seek per bucket (77 buckets for 10M receipts). `actors.last_bucket` finds a chain's head in one
 * seek.
 */
export const BUCKET_BITS = 17;

const MIGRATIONS: readonly string[] = [
  // 0 → 1: receipts keyed by actor name.
  `CREATE TABLE receipts (
     actor TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, from_state TEXT, to_state TEXT,
     event_kind TEXT NOT NULL, event_type TEXT, reason TEXT, meta BLOB, prev_hash BLOB, hash BLOB NOT NULL,
     PRIMARY KEY (actor, seq)
   ) WITHOUT ROWID;`,
  // 1 → 2: actors get integer keys (receipts append in commit order with a compact index, which
  // SQLite writes several times faster than a table clustered by actor name); snapshots.
  `CREATE TABLE actors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
   INSERT INTO actors (name) SELECT DISTINCT actor FROM receipts ORDER BY actor;
   CREATE TABLE receipts_v2 (
     actor INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, from_state TEXT, to_state TEXT,
     event_kind TEXT NOT NULL, event_type TEXT, reason TEXT, meta BLOB, prev_hash BLOB, hash BLOB NOT NULL
   );
   INSERT INTO receipts_v2 SELECT a.id, r.seq, r.at, r.from_state, r.to_state, r.event_kind, r.event_type, r.reason, r.meta, r.prev_hash, r.hash
     FROM receipts r JOIN actors a ON a.name = r.actor ORDER BY r.actor, r.seq;
   DROP TABLE receipts;
   ALTER TABLE receipts_v2 RENAME TO receipts;
   CREATE UNIQUE INDEX receipts_by_actor ON receipts (actor, seq);
   CREATE TABLE snapshots (
     actor INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, machine TEXT NOT NULL, parent TEXT, body BLOB NOT NULL
   );
   CREATE INDEX snapshots_by_parent ON snapshots (parent) WHERE parent IS NOT NULL;`,
  // 2 → 3: receipts indexed by bucket (see BUCKET_BITS); rows written before stay in bucket 0.
  `ALTER TABLE receipts ADD COLUMN bucket INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE actors ADD COLUMN last_bucket INTEGER;
   ALTER TABLE snapshots ADD COLUMN hash BLOB;
   UPDATE snapshots SET hash = (SELECT r.hash FROM receipts r WHERE r.actor = snapshots.actor AND r.seq = snapshots.seq);
   UPDATE actors SET last_bucket = 0 WHERE id IN (SELECT DISTINCT actor FROM receipts);
   DROP INDEX receipts_by_actor;
   CREATE INDEX receipts_by_bucket ON receipts (bucket, actor, seq);`,
];

/** Fields of one row as a client sends it (a flat array, ROW_FIELDS per row). */
export const R_ACTOR = 0;
export const R_INC = 1;
export const R_AT = 2;
export const R_FROM = 3;
export const R_TO = 4;
/** Event kind ('call', 'init'…), or null: the row carries only a snapshot, no receipt. */
export const R_KIND = 5;
export const R_TYPE = 6;
export const R_REASON = 7;
/** Metadata of a receipt() action, msgpackr bytes (or undefined). */
export const R_META = 8;
/** Snapshot bytes to store, null to delete the snapshot, undefined to leave it. */
export const R_SNAP = 9;
export const R_MACHINE = 10;
export const R_PARENT = 11;
/** The receipt's sequence number, the previous receipt's hash and its own (receipts only). */
export const R_SEQ = 12;
export const R_PREV = 13;
export const R_HASH = 14;
export const ROW_FIELDS = 15;

/** Who submitted rows, and hears back how far they are committed. */
export interface JournalSource {
  ack(upTo: number, failure: JournalFailure | null): void;
}

/** Rows of one source that were not committed, and why. */
export interface JournalFailure {
  message: string;
  sqlite: string | null;
  reason: JournalTrouble;
  /** Tags of the rows that failed. */
  tags: number[];
  /** [actor id, incarnation] of every actor with a failed row: each must not carry on. */
  actors: [string, number][];
}

export interface JournalOptions {
  /** 'full' (default): a commit survives power loss. 'normal': it survives a process crash. */
  synchronous?: 'full' | 'normal';
  /** Milliseconds to wait for a lock held by another connection before SQLITE_BUSY (default 5000). */
  busyTimeout?: number;
  /** A size cap: writes beyond it fail with SQLITE_FULL, like a full disk (default: none). */
  maxBytes?: number;
  /** @internal Rows per index bucket as a power of two (default BUCKET_BITS; tests use tiny ones). */
  bucketBits?: number;
}

export interface Receipt {
  actor: string;
  seq: number;
  at: number;
  from: unknown;
  to: unknown;
  event: { kind: string; type: string | null };
  reason: string | null;
  meta: unknown;
  hash: string;
}

export interface StoredSnapshot {
  id: string;
  /** The head of the actor's receipt chain when the snapshot was taken. */
  seq: number;
  hash: Uint8Array | null;
  machine: string;
  parent: string | null;
  body: Uint8Array;
}

export interface ReceiptRow {
  actor: string;
  seq: number;
  at: number;
  from_state: string | null;
  to_state: string | null;
  event_kind: string;
  event_type: string | null;
  reason: string | null;
  meta: Buffer | null;
  prev_hash: Buffer | null;
  hash: Buffer;
}

const MAX_CACHED_HEADS = 250_000;

type Head = { key: number; seq: number; hash: Uint8Array | null; bucket: number | null };
type Batch = { source: JournalSource; rows: unknown[]; upTo: number };

/** Files opened by a journal in this process (a second system on the same file is refused). */
const openPaths = new Set<string>();

/** What a persistent actor resumes from: its snapshot (null: none) and its chain's head. */
export interface Resume {
  body: Uint8Array | null;
  head: [number, Uint8Array | null];
}

type ResumeRow = { key: number; bucket: number | null; body: Buffer | null; snapSeq: number | null; snapHash: Buffer | null; seq: number | null };

/** Everything a resume needs, in one statement (one read transaction: on a WAL file each
 *  statement outside a transaction pays for opening one): the snapshot, and the chain head's
 *  seq. The head's hash is the snapshot's when the two agree, as they do unless the id also ran
 *  as a non-persistent actor since; then SELECT_HEAD_HASH reads it. */
const SELECT_RESUME = `SELECT a.id AS key, a.last_bucket AS bucket, s.body AS body, s.seq AS snapSeq, s.hash AS snapHash,
  (SELECT r.seq FROM receipts r WHERE r.bucket = a.last_bucket AND r.actor = a.id ORDER BY r.seq DESC LIMIT 1) AS seq
  FROM actors a LEFT JOIN snapshots s ON s.actor = a.id WHERE a.name = ?`;
const SELECT_HEAD_HASH = 'SELECT hash FROM receipts WHERE bucket = ? AND actor = ? AND seq = ?';

/** Reads what a persistent actor resumes from. */
function readResume(row: ResumeRow | undefined, headHash: Database.Statement): Resume & { key: number; bucket: number | null } | null {
  if (row === undefined) return null;
  const seq = row.seq ?? 0;
  const hash = seq === 0 ? null : row.snapSeq === seq ? row.snapHash : (headHash.pluck().get(row.bucket, row.key, seq) as Buffer);
  return { key: row.key, bucket: seq === 0 ? null : row.bucket, body: row.body, head: [seq, hash] };
}

/**
 * A read-only handle on a journal file for a shard: it reads the snapshots and chain heads of the
 * persistent actors it resumes itself, in parallel with the other shards, instead of the main
 * thread reading each and sending it over. The main thread commits an actor's queued rows before
 * it asks a shard to resume it, so the read sees them.
 */
export class SnapshotReader {
  private readonly db: Database.Database;
  private readonly stmt: Database.Statement;
  private readonly headHash: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
    this.db.pragma('mmap_size = 268435456');
    this.stmt = this.db.prepare(SELECT_RESUME);
    this.headHash = this.db.prepare(SELECT_HEAD_HASH);
  }

  resumeOf(actor: string): Resume {
    const r = readResume(this.stmt.get(actor) as ResumeRow | undefined, this.headHash);
    return r === null ? { body: null, head: [0, null] } : { body: r.body, head: r.head };
  }

  close(): void {
    this.db.close();
  }
}

/** One actor's receipts, oldest first: a seek per bucket it may have written in. */
const SELECT_ACTOR_ROWS =
  'SELECT ? AS actor, seq, at, from_state, to_state, event_kind, event_type, reason, meta, prev_hash, hash FROM receipts ' +
  'WHERE bucket IN (SELECT value FROM json_each(?)) AND actor = ? AND seq > ? ORDER BY bucket, seq LIMIT ?';

/** Reads an actor's receipts (after `since`, at most `limit`) from an open database. */
function actorRows(db: Database.Database, actor: string, since = 0, limit = -1): ReceiptRow[] {
  let q = readers.get(db);
  if (q === undefined) readers.set(db, (q = { actor: db.prepare('SELECT id, last_bucket FROM actors WHERE name = ?'), rows: db.prepare(SELECT_ACTOR_ROWS) }));
  const a = q.actor.get(actor) as { id: number; last_bucket: number | null } | undefined;
  if (a === undefined || a.last_bucket === null) return [];
  const buckets = JSON.stringify(Array.from({ length: a.last_bucket + 1 }, (_, i) => i));
  return q.rows.all(actor, buckets, a.id, since, limit) as ReceiptRow[];
}

/** Prepared read statements per open database (preparing costs more than a small read). */
const readers = new WeakMap<Database.Database, { actor: Database.Statement; rows: Database.Statement }>();

export class Journal {
  private readonly db: Database.Database;
  private insert!: Database.Statement;
  private insertActor!: Database.Statement;
  private actorKey!: Database.Statement;
  private last!: Database.Statement;
  private putSnapshot!: Database.Statement;
  private dropSnapshot!: Database.Statement;
  private setLastBucket!: Database.Statement;
  private getSnapshot!: Database.Statement;
  private getResume!: Database.Statement;
  private getHeadHash!: Database.Statement;
  /** The rowid the next receipt gets (its bucket follows from it). */
  private nextRow = 0;
  private readonly bucketRows: number;
  /** The last row's bucket when the file was opened: buckets never go back (last_bucket relies
   *  on it), whatever bucket size wrote the rows before. */
  private minBucket = 0;
  private readonly heads = new Map<string, Head>();
  /** Actor → the incarnation whose row failed: its later rows fail too. */
  private readonly fenced = new Map<string, number>();
  private queue: Batch[] = [];
  /** Actors with rows in the queue: reading their snapshot or head must commit first; reading
   *  anyone else's need not (a spawn does not force a small commit in the middle of a load). */
  private readonly queuedActors = new Set<string>();
  private commitQueued = false;
  private closed = false;
  private readonly lockPath: string | null;
  /** Rows committed so far (receipts and snapshot-only rows), for figures. */
  committed = 0;
  /** Makes the refs found in metadata and snapshots (the system binds them to its router). */
  refs: (id: string, shard: number, slot: number) => ActorRef = plainRef;
  /** Called when a group commit fails (after the sources have been told). */
  onError: ((err: JournalError, failure: JournalFailure) => void) | null = null;

  constructor(readonly path: string, opts: JournalOptions = {}) {
    const memory = path === ':memory:';
    this.bucketRows = 2 ** (opts.bucketBits ?? BUCKET_BITS);
    if (!memory && !existsSync(dirname(path))) throw new JournalError(`journal: the directory of ${path} does not exist`, { reason: 'path' });
    this.lockPath = memory ? null : claim(path);
    try {
      this.db = new Database(path, { timeout: opts.busyTimeout ?? 5000 });
      if (!memory) this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      this.db.pragma('cache_size = -65536');
      this.db.pragma('mmap_size = 268435456'); // reads without a syscall per page (resume, queries)
      // Checkpoints every 40 MB of WAL instead of 4 MB: a page rewritten by many commits is
      // copied back to the database once, not once per commit.
      this.db.pragma('wal_autocheckpoint = 10000');
      if (opts.maxBytes !== undefined) {
        const page = this.db.pragma('page_size', { simple: true }) as number;
        this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(opts.maxBytes / page))}`);
      }
      migrate(this.db, path);
      // Start from a checkpointed file: reads (resumes, queries) then come from the database
      // itself, not through the WAL's index (a WAL may hold up to 40 MB of recent pages).
      if (!memory) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.prepareStatements();
    } catch (err) {
      this.release();
      const opened = (this as unknown as { db?: Database.Database }).db;
      if (opened?.open === true) opened.close();
      if (err instanceof JournalError) throw err;
      throw JournalError.from(err, `journal: cannot open ${path}`);
    }
  }

  private prepareStatements(): void {
    this.insert = this.db.prepare(
      'INSERT INTO receipts (rowid, bucket, actor, seq, at, from_state, to_state, event_kind, event_type, reason, meta, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertActor = this.db.prepare('INSERT INTO actors (name) VALUES (?)');
    this.actorKey = this.db.prepare('SELECT id, last_bucket FROM actors WHERE name = ?');
    this.last = this.db.prepare('SELECT seq, hash FROM receipts WHERE bucket = ? AND actor = ? ORDER BY seq DESC LIMIT 1');
    this.setLastBucket = this.db.prepare('UPDATE actors SET last_bucket = ? WHERE id = ?');
    this.getSnapshot = this.db.prepare('SELECT a.name AS id, s.seq, s.hash, s.machine, s.parent, s.body FROM snapshots s JOIN actors a ON a.id = s.actor WHERE a.name = ?');
    this.getResume = this.db.prepare(SELECT_RESUME);
    this.getHeadHash = this.db.prepare(SELECT_HEAD_HASH);
    this.nextRow = ((this.db.prepare('SELECT max(rowid) FROM receipts').pluck().get() as number | null) ?? 0) + 1;
    this.minBucket = (this.db.prepare('SELECT bucket FROM receipts WHERE rowid = ?').pluck().get(this.nextRow - 1) as number | undefined) ?? 0;
    this.putSnapshot = this.db.prepare(
      'INSERT INTO snapshots (actor, seq, hash, at, machine, parent, body) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (actor) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at, machine = excluded.machine, parent = excluded.parent, body = excluded.body',
    );
    this.dropSnapshot = this.db.prepare('DELETE FROM snapshots WHERE actor = ?');
  }

  // ---------------------------------------------------------------- writing

  /** Queues a source's rows (tags upTo-n+1 … upTo) for this turn's group commit. */
  submit(source: JournalSource, rows: unknown[], upTo: number): void {
    if (this.closed) {
      source.ack(upTo, failureOf(rows, upTo, new JournalError('journal: the journal is closed', { reason: 'closed' })));
      return;
    }
    this.queue.push({ source, rows, upTo });
    for (let i = R_ACTOR; i < rows.length; i += ROW_FIELDS) this.queuedActors.add(rows[i] as string);
    if (!this.commitQueued) {
      this.commitQueued = true;
      setImmediate(this.commit);
    }
  }

  /** Commits everything queued, in one transaction, and tells each source. */
  readonly commit = (): void => {
    this.commitQueued = false;
    if (this.queue.length === 0 || this.closed) return;
    const batches = this.queue;
    this.queue = [];
    this.queuedActors.clear();
    const fencedTags = new Map<Batch, Fenced>();
    let written = 0;
    try {
      this.db.transaction(() => {
        for (const b of batches) written += this.write(b, fencedTags);
      })();
    } catch (err) {
      // Nothing of the transaction is kept: chain heads are reloaded, the actors are fenced.
      this.heads.clear();
      try {
        this.nextRow = ((this.db.prepare('SELECT max(rowid) FROM receipts').pluck().get() as number | null) ?? 0) + 1;
      } catch {
        // The file cannot even be read: the next commit fails too, and says why.
      }
      const e = JournalError.from(err, `journal: a group commit of ${batches.reduce((n, b) => n + b.rows.length / ROW_FIELDS, 0)} rows failed`);
      for (const b of batches) {
        const failure = failureOf(b.rows, b.upTo, e);
        for (const [actor, inc] of failure.actors) this.fenced.set(actor, inc);
        tell(() => b.source.ack(b.upTo, failure));
        tell(() => this.onError?.(e, failure));
      }
      return;
    }
    this.committed += written;
    // Chain heads are a cache (reloaded from the file on demand): bounded, dropped all at once.
    if (this.heads.size > MAX_CACHED_HEADS) this.heads.clear();
    for (const b of batches) {
      const f = fencedTags.get(b);
      tell(() => b.source.ack(b.upTo, f === undefined ? null : { message: f.message, sqlite: null, reason: 'fenced', tags: f.tags, actors: f.actors }));
    }
  };

  private write(b: Batch, fencedTags: Map<Batch, Fenced>): number {
    const rows = b.rows;
    const n = rows.length / ROW_FIELDS;
    const firstTag = b.upTo - n + 1;
    let written = 0;
    for (let i = 0; i < n; i++) {
      const o = i * ROW_FIELDS;
      const actor = rows[o + R_ACTOR] as string;
      const inc = rows[o + R_INC] as number;
      const fence = this.fenced.get(actor);
      if (fence !== undefined) {
        if (fence === inc) {
          refuse(fencedTags, b, firstTag + i, actor, inc, 'journal: an earlier receipt of this actor could not be written; it must not carry on');
          continue;
        }
        this.fenced.delete(actor); // a new incarnation starts clean
      }
      const head = this.head(actor);
      const at = rows[o + R_AT] as number;
      const kind = rows[o + R_KIND] as string | null;
      if (kind !== null) {
        const seq = rows[o + R_SEQ] as number;
        if (seq !== head.seq + 1 || !sameHash(rows[o + R_PREV] as Uint8Array | null, head.hash)) {
          // Not the next link of the chain (a second writer, or a head handed out stale): the
          // row is refused and its actor must not carry on.
          this.fenced.set(actor, inc);
          refuse(fencedTags, b, firstTag + i, actor, inc, `journal: receipt ${seq} of '${actor}' does not follow its chain's head (seq ${head.seq} and its hash)`);
          continue;
        }
        const hash = bytes(rows[o + R_HASH]) as Buffer;
        const row = this.nextRow++;
        const bucket = Math.max(this.minBucket, Math.floor(row / this.bucketRows));
        this.insert.run(row, bucket, head.key, seq, at, rows[o + R_FROM] as string | null, rows[o + R_TO] as string | null, kind, rows[o + R_TYPE] ?? null, rows[o + R_REASON] ?? null, bytes(rows[o + R_META]), bytes(head.hash), hash);
        if (head.bucket !== bucket) {
          this.setLastBucket.run(bucket, head.key);
          head.bucket = bucket;
        }
        head.seq = seq;
        head.hash = hash;
      }
      const snap = rows[o + R_SNAP];
      if (snap === null) this.dropSnapshot.run(head.key);
      else if (snap !== undefined) this.putSnapshot.run(head.key, head.seq, bytes(head.hash), at, rows[o + R_MACHINE] as string, (rows[o + R_PARENT] as string | undefined) ?? null, bytes(snap));
      written++;
    }
    return written;
  }

  private head(actor: string): Head {
    let head = this.heads.get(actor);
    if (head !== undefined) return head;
    const known = this.actorKey.get(actor) as { id: number; last_bucket: number | null } | undefined;
    if (known === undefined) {
      head = { key: Number(this.insertActor.run(actor).lastInsertRowid), seq: 0, hash: null, bucket: null };
    } else {
      const row = known.last_bucket === null ? undefined : (this.last.get(known.last_bucket, known.id) as { seq: number; hash: Buffer } | undefined);
      head = row === undefined ? { key: known.id, seq: 0, hash: null, bucket: null } : { key: known.id, seq: row.seq, hash: row.hash, bucket: known.last_bucket };
    }
    this.heads.set(actor, head);
    return head;
  }

  // ---------------------------------------------------------------- reading

  /** An actor's receipts, oldest first (everything queued is committed first). */
  receipts(actor: string, opts: { since?: number; limit?: number } = {}): Receipt[] {
    this.commit();
    return actorRows(this.db, actor, opts.since ?? 0, opts.limit ?? -1).map((r) => toReceipt(r, this.refs));
  }

  /** Walks an actor's chain: the first row whose sequence or hash does not follow, if any. */
  verify(actor: string): { ok: true } | { ok: false; brokenAt: number; why: string } {
    this.commit();
    return verifyRows(actorRows(this.db, actor));
  }

  /** Verifies every actor's chain. */
  verifyAll(): { ok: true; actors: number } | { ok: false; actor: string; brokenAt: number; why: string } {
    return verifyDatabase(this.db, () => this.commit());
  }

  /** The head of an actor's chain (seq 0: none yet), for the thread that will host it. */
  chainHead(actor: string): [number, Uint8Array | null] {
    if (this.queuedActors.has(actor)) this.commit();
    const cached = this.heads.get(actor);
    if (cached !== undefined) return [cached.seq, cached.hash];
    if (this.actorKey.get(actor) === undefined) return [0, null]; // a new id: nothing to read (or write) yet
    const head = this.head(actor);
    return [head.seq, head.hash];
  }

  /** What a persistent actor resumes from: its snapshot (null: none) and its chain's head. */
  resumeOf(actor: string): Resume {
    this.settle(actor);
    const cached = this.heads.get(actor);
    const r = readResume(this.getResume.get(actor) as ResumeRow | undefined, this.getHeadHash);
    if (r === null) return { body: null, head: [0, null] };
    if (cached !== undefined) return { body: r.body, head: [cached.seq, cached.hash] };
    this.heads.set(actor, { key: r.key, seq: r.head[0], hash: r.head[1], bucket: r.bucket });
    return { body: r.body, head: r.head };
  }

  /** Commits now if rows of this actor are queued (before someone else reads its state). */
  settle(actor: string): void {
    if (this.queuedActors.has(actor)) this.commit();
  }

  /** A persistent actor's last committed snapshot, or null. */
  snapshot(actor: string): StoredSnapshot | null {
    if (this.queuedActors.has(actor)) this.commit();
    const row = this.getSnapshot.get(actor) as StoredSnapshot | undefined;
    return row ?? null;
  }

  /** The persistent actors a supervisor had running (ids and spawn args). */
  childrenOf(parent: string): { id: string; args: unknown }[] {
    this.commit();
    const rows = this.db.prepare('SELECT a.name AS id, s.body FROM snapshots s JOIN actors a ON a.id = s.actor WHERE s.parent = ? ORDER BY a.id').all(parent) as { id: string; body: Buffer }[];
    return rows.map((r) => {
      try {
        return { id: r.id, args: (decodeValue(r.body, this.refs) as SnapshotBody).args };
      } catch {
        return { id: r.id, args: undefined }; // unreadable: its resume fails and says so
      }
    });
  }

  /** Deletes a persistent actor's snapshot (after what is queued is committed). */
  forget(actor: string): void {
    this.commit();
    this.db.prepare('DELETE FROM snapshots WHERE actor = (SELECT id FROM actors WHERE name = ?)').run(actor);
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    try {
      this.db.close();
    } finally {
      this.release();
    }
  }

  private release(): void {
    if (this.lockPath === null) return;
    openPaths.delete(this.lockPath);
    rmSync(`${this.lockPath}.lock`, { force: true });
  }
}

/** What a snapshot's body holds (msgpackr). Timers: [kind, name, wall-clock deadline, msg]. */
export interface SnapshotBody {
  state: unknown;
  data: unknown;
  timers: [number, string | null, number, unknown][];
  args: unknown;
}

/**
 * One writer per file: a second journal on the same file in this process is refused, and so is
 * one in another live process (a `<file>.lock` holding its pid; a lock left by a process that
 * died, even by SIGKILL, is taken over). Two writers would fork the hash chains.
 */
function claim(path: string): string {
  const key = resolve(path);
  if (openPaths.has(key)) throw new JournalError(`journal: ${path} is already open in this process; one system per database file`, { reason: 'in_use' });
  const lock = `${key}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' }); // atomic: one process wins
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if (err instanceof JournalError) throw err;
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new JournalError(`journal: ${path} is being claimed by another process (${lock})`, { reason: 'in_use' });
        throw JournalError.from(err, `journal: cannot write the lock file ${lock}`);
      }
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      // gone meanwhile: try again
    }
    if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
      throw new JournalError(`journal: ${path} is in use by process ${holder} (${lock}; delete it if that process is not a threadstate system); one system per database file`, { reason: 'in_use' });
    }
    rmSync(lock, { force: true }); // left by a process that died: taken over
  }
  openPaths.add(key);
  return key;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the default database's directory (./data) when it is missing. */
export function ensureDirectory(path: string): void {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
}

function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new JournalError(`journal: ${path} was written by a newer threadstate (schema ${version}; this one knows up to ${SCHEMA_VERSION})`, { reason: 'schema' });
  }
  // A file SQLite could open only read-only (permissions, an immutable file) fails here, at
  // open, rather than at the first commit: this rewrites the header with the same version.
  db.pragma(`user_version = ${version}`);
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function failureOf(rows: unknown[], upTo: number, e: JournalError): JournalFailure {
  const n = rows.length / ROW_FIELDS;
  const tags: number[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    tags.push(upTo - n + 1 + i);
    seen.set(rows[i * ROW_FIELDS + R_ACTOR] as string, rows[i * ROW_FIELDS + R_INC] as number);
  }
  return { message: e.message, sqlite: e.sqlite, reason: e.reason, tags, actors: [...seen] };
}

function bytes(v: unknown): Buffer | null {
  if (v === undefined || v === null) return null;
  const u = v as Uint8Array;
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

type Fenced = { message: string; tags: number[]; actors: [string, number][] };

/** Every source hears, even if an earlier one's listener throws (that is logged, not lost). */
function tell(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function sameHash(a: Uint8Array | null | undefined, b: Uint8Array | null): boolean {
  if (a === null || a === undefined || b === null) return (a ?? null) === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Records a row that is refused without failing the commit. */
function refuse(fenced: Map<Batch, Fenced>, b: Batch, tag: number, actor: string, inc: number, message: string): void {
  let f = fenced.get(b);
  if (f === undefined) fenced.set(b, (f = { message, tags: [], actors: [] }));
  f.tags.push(tag);
  f.actors.push([actor, inc]);
}

/** Outside a system (the command line) a ref in metadata reads back as `{ id }`. */
const plainRef = (id: string): ActorRef => ({ id }) as ActorRef;

function toReceipt(r: ReceiptRow, refs: (id: string, shard: number, slot: number) => ActorRef): Receipt {
  return {
    actor: r.actor,
    seq: r.seq,
    at: r.at,
    from: r.from_state === null ? undefined : (JSON.parse(r.from_state) as unknown),
    to: r.to_state === null ? undefined : (JSON.parse(r.to_state) as unknown),
    event: { kind: r.event_kind, type: r.event_type },
    reason: r.reason,
    meta: r.meta === null ? undefined : decodeValue(r.meta, refs),
    hash: r.hash.toString('hex'),
  };
}

function rowHash(prev: Buffer | null, r: ReceiptRow): Buffer {
  return receiptHash(prev, r.actor, r.seq, r.at, r.from_state, r.to_state, r.event_kind, r.event_type, r.reason, r.meta);
}

export function verifyRows(rows: Iterable<ReceiptRow>): { ok: true } | { ok: false; brokenAt: number; why: string } {
  let prev: Buffer | null = null;
  let expected = 1;
  for (const r of rows) {
    if (r.seq !== expected) return { ok: false, brokenAt: expected, why: r.seq > expected ? `seq ${expected} is missing` : `seq ${r.seq} is duplicated` };
    const samePrev = prev === null ? r.prev_hash === null : r.prev_hash !== null && prev.equals(r.prev_hash);
    if (!samePrev || !rowHash(prev, r).equals(r.hash)) return { ok: false, brokenAt: r.seq, why: 'the hash chain does not match the row' };
    prev = r.hash;
    expected++;
  }
  return { ok: true };
}

/** Verifies every chain of a database (also used by the command line, on a read-only handle). */
export function verifyDatabase(db: Database.Database, before: () => void = () => undefined): { ok: true; actors: number } | { ok: false; actor: string; brokenAt: number; why: string } {
  before();
  const actors = db.prepare('SELECT name FROM actors ORDER BY id').pluck().all() as string[];
  for (const actor of actors) {
    const r = verifyRows(actorRows(db, actor));
    if (!r.ok) return { ...r, actor };
  }
  return { ok: true, actors: actors.length };
}

/** Reads an actor's receipts from an open database (the command line). */
export function readReceipts(db: Database.Database, actor: string): Receipt[] {
  return actorRows(db, actor).map((r) => toReceipt(r, plainRef));
}
