/**
 * The journal's schema, versioned with PRAGMA user_version and migrated forward, one step per
 * version; a file written by a newer threadstate is refused.
 */
import type Database from 'better-sqlite3';
import { JournalError } from './journal-error.js';

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

/** Brings a database up to SCHEMA_VERSION (a newer one is refused). */
export function migrate(db: Database.Database, path: string): void {
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
