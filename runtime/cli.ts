#!/usr/bin/env node
/**
 * threadstate's command line, for the journal:
 *   threadstate receipts <db> <actor-id>   an actor's receipts, oldest first, one JSON line each
 *   threadstate verify <db>                every actor's hash chain; exit 1 naming the actor and seq
 *                                          where a chain breaks
 */
import { existsSync } from 'node:fs';
import { Journal } from './journal.js';

function usage(): never {
  process.stderr.write('usage: threadstate receipts <db> <actor-id>\n       threadstate verify <db>\n');
  process.exit(2);
}

const [command, db, actor] = process.argv.slice(2);
if (command === undefined || db === undefined) usage();
if (!existsSync(db)) {
  process.stderr.write(`threadstate: no journal at ${db}\n`);
  process.exit(2);
}
const journal = new Journal(db);
try {
  if (command === 'receipts') {
    if (actor === undefined) usage();
    for (const r of journal.receipts(actor)) process.stdout.write(`${JSON.stringify(r)}\n`);
  } else if (command === 'verify') {
    const result = journal.verifyAll();
    if (result.ok) process.stdout.write('ok: every hash chain verifies\n');
    else {
      process.stderr.write(`broken: actor '${result.actor}' at seq ${result.brokenAt}: ${result.why}\n`);
      process.exitCode = 1;
    }
  } else usage();
} finally {
  journal.close();
}
