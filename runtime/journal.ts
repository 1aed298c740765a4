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
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { JournalError, type JournalTrouble } from './journal-error.js';
import { claim, release } from './journal-lock.js';
import { actorRows, readResume, type Receipt, type Resume, type ResumeRow, SELECT_HEAD_HASH, SELECT_RESUME, toReceipt, verifyRows, plainRef } from './journal-read.js';
import { BUCKET_BITS, migrate } from './journal-schema.js';
import type { ActorRef } from './ref.js';
import { decodeValue } from './wire.js';

export { JournalError } from './journal-error.js';
export { BUCKET_BITS, SCHEMA_VERSION } from './journal-schema.js';
export { readReceipts, SnapshotReader, verifyDatabase, verifyRows, type Receipt, type ReceiptRow, type Resume } from './journal-read.js';

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

const MAX_CACHED_HEADS = 250_000;

type Head = { key: number; seq: number; hash: Uint8Array | null; bucket: number | null };
type Batch = { source: JournalSource; rows: unknown[]; upTo: number };

export class Journal {
  private readonly db: Database.Database;
  private insert!: Database.Statement;
  private insertActor!: Database.Statement;
  private actorKey!: Database.Statement;
  private last!: Database.Statement;
  private putSnapshot!: Database.Statement;
  private dropSnapshot!: Database.Statement;
  private setLastBucket!: Database.Statement;
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
    try {
      this.db.transaction(() => {
        for (const b of batches) this.write(b, fencedTags);
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
    // Chain heads are a cache (reloaded from the file on demand): bounded, dropped all at once.
    if (this.heads.size > MAX_CACHED_HEADS) this.heads.clear();
    for (const b of batches) {
      const f = fencedTags.get(b);
      tell(() => b.source.ack(b.upTo, f === undefined ? null : { message: f.message, sqlite: null, reason: 'fenced', tags: f.tags, actors: f.actors }));
    }
  };

  private write(b: Batch, fencedTags: Map<Batch, Fenced>): void {
    const rows = b.rows;
    const n = rows.length / ROW_FIELDS;
    const firstTag = b.upTo - n + 1;
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
    }
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
    if (this.lockPath !== null) release(this.lockPath);
  }
}

/** What a snapshot's body holds (msgpackr). Timers: [kind, name, wall-clock deadline, msg]. */
export interface SnapshotBody {
  state: unknown;
  data: unknown;
  timers: [number, string | null, number, unknown][];
  args: unknown;
}

/** Creates the default database's directory (./data) when it is missing. */
export function ensureDirectory(path: string): void {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
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

