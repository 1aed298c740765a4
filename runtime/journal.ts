/**
 * The journal: receipts in SQLite (better-sqlite3, WAL). Every state change of every actor, and
 * every `receipt()` action, becomes a row: actor, per-actor sequence number, time, from and to
 * state, event kind and type, reason, metadata (msgpackr) — chained by SHA-256 per actor
 * (hash = H(prev_hash ‖ the row's fields)), so that editing or removing a row is detectable.
 *
 * Receipts are written by the main thread in group commits: everything appended during one turn
 * goes in one transaction. The schema is versioned with PRAGMA user_version and migrated forward;
 * a database written by a newer version is refused.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { pack, unpack } from 'msgpackr';
import { ThreadstateError } from './errors.js';

/** The journal cannot be opened or written (missing directory, permissions, a newer schema…). */
export class JournalError extends ThreadstateError {
  readonly code = 'journal';
}

export const SCHEMA_VERSION = 1;

const MIGRATIONS: readonly string[] = [
  // 0 → 1
  `CREATE TABLE receipts (
     actor      TEXT    NOT NULL,
     seq        INTEGER NOT NULL,
     at         INTEGER NOT NULL,
     from_state TEXT,
     to_state   TEXT,
     event_kind TEXT    NOT NULL,
     event_type TEXT,
     reason     TEXT,
     meta       BLOB,
     prev_hash  BLOB,
     hash       BLOB    NOT NULL,
     PRIMARY KEY (actor, seq)
   ) WITHOUT ROWID;`,
];

export interface ReceiptInput {
  actor: string;
  at: number;
  from: unknown;
  to: unknown;
  eventKind: string;
  eventType: string | null;
  reason: string | null;
  meta: unknown;
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

interface Row {
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

type Pending = { input: ReceiptInput; seq: number; prev: Buffer | null; hash: Buffer; metaBytes: Buffer | null; fromText: string | null; toText: string | null };

export class Journal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly last: Database.Statement;
  private readonly heads = new Map<string, { seq: number; hash: Buffer | null }>();
  private pending: Pending[] = [];
  private flushQueued = false;
  private closed = false;
  /** Called when a group commit fails (the receipts are not lost from memory until then). */
  onError: ((err: JournalError) => void) | null = null;

  constructor(readonly path: string) {
    if (path !== ':memory:' && !existsSync(dirname(path))) throw new JournalError(`journal: the directory of ${path} does not exist`);
    try {
      this.db = new Database(path);
      if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
    } catch (err) {
      throw new JournalError(`journal: cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    migrate(this.db, path);
    this.insert = this.db.prepare(
      'INSERT INTO receipts (actor, seq, at, from_state, to_state, event_kind, event_type, reason, meta, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.last = this.db.prepare('SELECT seq, hash FROM receipts WHERE actor = ? ORDER BY seq DESC LIMIT 1');
  }

  /** Adds a receipt to this turn's group commit. */
  append(input: ReceiptInput): void {
    if (this.closed) return;
    let head = this.heads.get(input.actor);
    if (head === undefined) {
      const row = this.last.get(input.actor) as { seq: number; hash: Buffer } | undefined;
      head = row === undefined ? { seq: 0, hash: null } : { seq: row.seq, hash: row.hash };
      this.heads.set(input.actor, head);
    }
    const seq = head.seq + 1;
    const fromText = stateText(input.from);
    const toText = stateText(input.to);
    const metaBytes = input.meta === undefined ? null : Buffer.from(pack(input.meta));
    const hash = chain(head.hash, input.actor, seq, input.at, fromText, toText, input.eventKind, input.eventType, input.reason, metaBytes);
    this.pending.push({ input, seq, prev: head.hash, hash, metaBytes, fromText, toText });
    head.seq = seq;
    head.hash = hash;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flush);
    }
  }

  /** Commits everything appended so far, in one transaction. */
  readonly flush = (): void => {
    this.flushQueued = false;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          const i = p.input;
          this.insert.run(i.actor, p.seq, i.at, p.fromText, p.toText, i.eventKind, i.eventType, i.reason, p.metaBytes, p.prev, p.hash);
        }
      })();
    } catch (err) {
      // Nothing of the batch is committed; the heads are reloaded from the database next time.
      this.heads.clear();
      const e = new JournalError(`journal: a group commit of ${batch.length} receipts failed: ${(err as Error).message}`, { cause: err });
      if (this.onError !== null) this.onError(e);
      else throw e;
    }
  };

  /** An actor's receipts, oldest first. */
  receipts(actor: string, opts: { since?: number; limit?: number } = {}): Receipt[] {
    this.flush();
    const rows = this.db
      .prepare('SELECT * FROM receipts WHERE actor = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(actor, opts.since ?? 0, opts.limit ?? -1) as Row[];
    return rows.map(toReceipt);
  }

  /** Walks an actor's chain: the first row whose sequence or hash does not follow, if any. */
  verify(actor: string): { ok: true } | { ok: false; brokenAt: number; why: string } {
    this.flush();
    return verifyRows(this.db.prepare('SELECT * FROM receipts WHERE actor = ? ORDER BY seq').iterate(actor) as Iterable<Row>);
  }

  /** Verifies every actor's chain. */
  verifyAll(): { ok: true } | { ok: false; actor: string; brokenAt: number; why: string } {
    this.flush();
    const actors = this.db.prepare('SELECT DISTINCT actor FROM receipts').pluck().all() as string[];
    for (const actor of actors) {
      const r = this.verify(actor);
      if (!r.ok) return { ...r, actor };
    }
    return { ok: true };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new JournalError(`journal: ${path} was written by a newer threadstate (schema ${version}; this one knows up to ${SCHEMA_VERSION})`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function stateText(state: unknown): string | null {
  return state === undefined ? null : JSON.stringify(state);
}

function chain(prev: Buffer | null, actor: string, seq: number, at: number, from: string | null, to: string | null, kind: string, type: string | null, reason: string | null, meta: Buffer | null): Buffer {
  const h = createHash('sha256');
  if (prev !== null) h.update(prev);
  h.update(JSON.stringify([actor, seq, at, from, to, kind, type, reason]));
  if (meta !== null) h.update(meta);
  return h.digest();
}

function toReceipt(r: Row): Receipt {
  return {
    actor: r.actor,
    seq: r.seq,
    at: r.at,
    from: r.from_state === null ? undefined : (JSON.parse(r.from_state) as unknown),
    to: r.to_state === null ? undefined : (JSON.parse(r.to_state) as unknown),
    event: { kind: r.event_kind, type: r.event_type },
    reason: r.reason,
    meta: r.meta === null ? undefined : (unpack(r.meta) as unknown),
    hash: r.hash.toString('hex'),
  };
}

export function verifyRows(rows: Iterable<Row>): { ok: true } | { ok: false; brokenAt: number; why: string } {
  let prev: Buffer | null = null;
  let expected = 1;
  for (const r of rows) {
    if (r.seq !== expected) return { ok: false, brokenAt: expected, why: r.seq > expected ? `seq ${expected} is missing` : `seq ${r.seq} is duplicated` };
    const samePrev = prev === null ? r.prev_hash === null : r.prev_hash !== null && prev.equals(r.prev_hash);
    const hash = chain(prev, r.actor, r.seq, r.at, r.from_state, r.to_state, r.event_kind, r.event_type, r.reason, r.meta);
    if (!samePrev || !hash.equals(r.hash)) return { ok: false, brokenAt: r.seq, why: 'the hash chain does not match the row' };
    prev = r.hash;
    expected++;
  }
  return { ok: true };
}
