/**
 * Reading the journal: an actor's receipts (oldest first), verifying hash chains, and what a
 * persistent actor resumes from. Used by the Journal on the main thread, by each shard's
 * read-only SnapshotReader, and by the command line on a read-only handle.
 */
import Database from 'better-sqlite3';
import { receiptHash } from './receipt-hash.js';
import type { ActorRef } from './ref.js';
import { decodeValue } from './wire.js';

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

/** What a persistent actor resumes from: its snapshot (null: none) and its chain's head. */
export interface Resume {
  body: Uint8Array | null;
  head: [number, Uint8Array | null];
}

export type ResumeRow = { key: number; bucket: number | null; body: Buffer | null; snapSeq: number | null; snapHash: Buffer | null; seq: number | null };

/** Everything a resume needs, in one statement (one read transaction: on a WAL file each
 *  statement outside a transaction pays for opening one): the snapshot, and the chain head's
 *  seq. The head's hash is the snapshot's when the two agree, as they do unless the id also ran
 *  as a non-persistent actor since; then SELECT_HEAD_HASH reads it. */
export const SELECT_RESUME = `SELECT a.id AS key, a.last_bucket AS bucket, s.body AS body, s.seq AS snapSeq, s.hash AS snapHash,
  (SELECT r.seq FROM receipts r WHERE r.bucket = a.last_bucket AND r.actor = a.id ORDER BY r.seq DESC LIMIT 1) AS seq
  FROM actors a LEFT JOIN snapshots s ON s.actor = a.id WHERE a.name = ?`;
export const SELECT_HEAD_HASH = 'SELECT hash FROM receipts WHERE bucket = ? AND actor = ? AND seq = ?';

/** Reads what a persistent actor resumes from. */
export function readResume(row: ResumeRow | undefined, headHash: Database.Statement): Resume & { key: number; bucket: number | null } | null {
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
export function actorRows(db: Database.Database, actor: string, since = 0, limit = -1): ReceiptRow[] {
  let q = readers.get(db);
  if (q === undefined) readers.set(db, (q = { actor: db.prepare('SELECT id, last_bucket FROM actors WHERE name = ?'), rows: db.prepare(SELECT_ACTOR_ROWS) }));
  const a = q.actor.get(actor) as { id: number; last_bucket: number | null } | undefined;
  if (a === undefined || a.last_bucket === null) return [];
  const buckets = JSON.stringify(Array.from({ length: a.last_bucket + 1 }, (_, i) => i));
  return q.rows.all(actor, buckets, a.id, since, limit) as ReceiptRow[];
}

/** Prepared read statements per open database (preparing costs more than a small read). */
const readers = new WeakMap<Database.Database, { actor: Database.Statement; rows: Database.Statement }>();

/** Outside a system (the command line) a ref in metadata reads back as `{ id }`. */
export const plainRef = (id: string): ActorRef => ({ id }) as ActorRef;

export function toReceipt(r: ReceiptRow, refs: (id: string, shard: number, slot: number) => ActorRef): Receipt {
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
