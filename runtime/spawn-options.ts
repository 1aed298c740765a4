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
  /** Keep state, data and armed timers in the journal: after a crash or a restart of the
   *  process the actor resumes from its last committed snapshot (needs the journal and an id). */
  persistent?: boolean;
  /** When a reply may go out relative to the commit of the receipts before it: 'commit' (after),
   *  'async' (at once; bounded write-behind) or 'none' (no receipts). Default: 'commit' for
   *  persistent actors, 'async' for others, or the system's `durability`. */
  durability?: Durability;
  /** Place the actor on the same shard as this one. */
  near?: ActorRef | string;
  /** Place the actor on this shard. */
  shard?: number;
  mailbox?: MailboxOptions;
  /** @internal Set by supervisors: the supervisor a persistent actor belongs to. */
  parent?: string;
  /** @internal Set by the runtime: the snapshot a persistent actor resumes from. */
  resume?: Uint8Array | null;
  /** @internal Set by the runtime: the head of the id's receipt chain (seq, hash). */
  head?: [number, Uint8Array | null];
}

/** Validates options and returns the mailbox capacity (Infinity when unbounded). */
export function checkSpawnOptions(opts: SpawnOptions<unknown>, shards: number): number {
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('spawn: options must be an object');
  if (opts.id !== undefined && (typeof opts.id !== 'string' || opts.id.length === 0)) throw new InvalidArgumentError('spawn: id must be a non-empty string');
  if (opts.persistent !== undefined && typeof opts.persistent !== 'boolean') throw new InvalidArgumentError('spawn: persistent must be a boolean');
  if (opts.persistent === true && opts.id === undefined) throw new InvalidArgumentError('spawn: a persistent actor needs an id (it is how it is found again after a restart)');
  if (opts.persistent === true && opts.durability === 'none') throw new InvalidArgumentError("spawn: a persistent actor cannot have durability 'none'");
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
