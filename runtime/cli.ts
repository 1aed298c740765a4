#!/usr/bin/env node
/**
 * threadstate's command line, for the journal:
 *   threadstate receipts <db> <actor-id>   an actor's receipts, oldest first, one JSON line each
 *   threadstate verify <db>                every actor's hash chain; exit 1 naming the actor and seq
 *                                          where a chain breaks
 * It opens the database read-only, so it may run beside a live system.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Journal, readReceipts, SCHEMA_VERSION, verifyDatabase } from './journal.js';

function usage(): never {
  process.stderr.write('usage: threadstate receipts <db> <actor-id>\n       threadstate verify <db>\n');
  process.exit(2);
}

const [command, path, actor] = process.argv.slice(2);
if (command === undefined || path === undefined) usage();
if (!existsSync(path)) {
  process.stderr.write(`threadstate: no journal at ${path}\n`);
  process.exit(2);
}
// An older schema is brought up to date first (that needs a writable handle, once).
const probe = new Database(path, { readonly: true });
const version = probe.pragma('user_version', { simple: true }) as number;
probe.close();
if (version < SCHEMA_VERSION) new Journal(path).close();
const db = new Database(path, { readonly: true, timeout: 5000 });
try {
  if (command === 'receipts') {
    if (actor === undefined) usage();
    for (const r of readReceipts(db, actor)) process.stdout.write(`${JSON.stringify(r)}\n`);
  } else if (command === 'verify') {
    const result = verifyDatabase(db);
    if (result.ok) process.stdout.write(`ok: ${result.actors} hash chains verify\n`);
    else {
      process.stderr.write(`broken: actor '${result.actor}' at seq ${result.brokenAt}: ${result.why}\n`);
      process.exitCode = 1;
    }
  } else usage();
} finally {
  db.close();
}
