/**
 * One writer per journal file: a lock held for the life of a Journal.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { JournalError } from './journal-error.js';

/** Files opened by a journal in this process (a second system on the same file is refused). */
const openPaths = new Set<string>();

/**
 * One writer per file: a second journal on the same file in this process is refused, and so is
 * one in another live process (a `<file>.lock` holding its pid; a lock left by a process that
 * died, even by SIGKILL, is taken over). Two writers would fork the hash chains.
 */
export function claim(path: string): string {
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

/** Gives the file back (the lock file goes). */
export function release(key: string): void {
  openPaths.delete(key);
  rmSync(`${key}.lock`, { force: true });
}
