/** Options of `spawn`, checked at the call site so that a bad one fails where it was written. */
import { InvalidArgumentError } from './errors.js';
import type { ActorRef } from './ref.js';

export type Durability = 'commit' | 'async' | 'none';

export interface MailboxOptions {
  /** Most messages the incoming queue holds; a call beyond it fails with MailboxFullError and a
   *  cast becomes a dead letter. Default: unbounded. */
  capacity?: number;
}

export interface SpawnOptions<A = unknown> {
  /** The actor's id (unique in the system). Default: `<machine name>-<n>`. */
  id?: string;
  /** Passed to the machine's `init`. */
  args?: A;
  /** Keep state, data and timers in the journal (needs the journal). */
  persistent?: boolean;
  durability?: Durability;
  /** Place the actor on the same shard as this one. */
  near?: ActorRef | string;
  /** Place the actor on this shard. */
  shard?: number;
  mailbox?: MailboxOptions;
}

/** Validates options and returns the mailbox capacity (Infinity when unbounded). */
export function checkSpawnOptions(opts: SpawnOptions<unknown>, shards: number): number {
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('spawn: options must be an object');
  if (opts.id !== undefined && (typeof opts.id !== 'string' || opts.id.length === 0)) throw new InvalidArgumentError('spawn: id must be a non-empty string');
  if (opts.persistent !== undefined && typeof opts.persistent !== 'boolean') throw new InvalidArgumentError('spawn: persistent must be a boolean');
  if (opts.persistent === true) throw new InvalidArgumentError('spawn: persistent actors need the SQLite journal, which this build does not have yet');
  if (opts.durability !== undefined && !['commit', 'async', 'none'].includes(opts.durability)) {
    throw new InvalidArgumentError(`spawn: durability must be 'commit', 'async' or 'none', not ${JSON.stringify(opts.durability)}`);
  }
  if (opts.shard !== undefined && (!Number.isInteger(opts.shard) || opts.shard < 0 || opts.shard >= shards)) {
    throw new InvalidArgumentError(`spawn: shard must be an integer from 0 to ${shards - 1}, got ${String(opts.shard)}`);
  }
  let capacity = Infinity;
  if (opts.mailbox !== undefined) {
    if (typeof opts.mailbox !== 'object' || opts.mailbox === null) throw new InvalidArgumentError('spawn: mailbox must be an object like { capacity: 1000 }');
    const c = opts.mailbox.capacity;
    if (c !== undefined) {
      if (typeof c !== 'number' || !(c === Infinity || (Number.isInteger(c) && c > 0))) throw new InvalidArgumentError(`spawn: mailbox.capacity must be a positive integer, got ${String(c)}`);
      capacity = c;
    }
  }
  return capacity;
}
