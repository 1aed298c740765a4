/** The journal's typed error: SQLite's code, and what kind of trouble it is. */
import { ThreadstateError } from './errors.js';

/** What went wrong with the journal. */
export type JournalTrouble = 'path' | 'schema' | 'in_use' | 'busy' | 'full' | 'readonly' | 'corrupt' | 'io' | 'closed' | 'fenced' | 'other';

/** The journal cannot be opened or written (missing directory, permissions, busy, full, corrupt,
 *  a newer schema…). A call whose transition it could not commit is rejected with it. */
export class JournalError extends ThreadstateError {
  readonly code = 'journal';
  /** SQLite's error code (SQLITE_BUSY, SQLITE_FULL, SQLITE_READONLY, SQLITE_CORRUPT…), if any. */
  readonly sqlite: string | null;
  readonly reason: JournalTrouble;

  constructor(message: string, opts: { reason?: JournalTrouble; sqlite?: string | null; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.sqlite = opts.sqlite ?? null;
    this.reason = opts.reason ?? troubleOf(this.sqlite);
  }

  /** Wraps an error from better-sqlite3 (or anything else) with `context`. */
  static from(err: unknown, context: string): JournalError {
    if (err instanceof JournalError) return err;
    const sqlite = typeof (err as { code?: unknown })?.code === 'string' ? ((err as { code: string }).code) : null;
    return new JournalError(`${context}: ${(err as Error)?.message ?? String(err)}`, { sqlite, cause: err });
  }
}

function troubleOf(sqlite: string | null): JournalTrouble {
  if (sqlite === null) return 'other';
  // File-system errors (the lock file beside the database): errno codes.
  if (sqlite === 'EACCES' || sqlite === 'EPERM' || sqlite === 'EROFS') return 'readonly';
  if (sqlite === 'ENOSPC') return 'full';
  if (sqlite.startsWith('SQLITE_BUSY') || sqlite.startsWith('SQLITE_LOCKED')) return 'busy';
  if (sqlite.startsWith('SQLITE_FULL')) return 'full';
  if (sqlite.startsWith('SQLITE_READONLY') || sqlite.startsWith('SQLITE_PERM') || sqlite.startsWith('SQLITE_CANTOPEN') || sqlite.startsWith('SQLITE_AUTH')) return 'readonly';
  if (sqlite.startsWith('SQLITE_CORRUPT') || sqlite.startsWith('SQLITE_NOTADB')) return 'corrupt';
  if (sqlite.startsWith('SQLITE_IOERR')) return 'io';
  return 'other';
}
