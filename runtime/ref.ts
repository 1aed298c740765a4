/**
 * ActorRef: how the world reaches an actor. A plain value — its only own enumerable property is
 * `id` — so it serializes and can travel inside messages; on each thread it is bound to the
 * router there, and caches the actor it last reached so a send is a pointer chase, not a lookup.
 */
import type { Actor } from '../actors/actor.js';
import type { Request } from './request.js';

export interface CallOptions {
  /** Milliseconds to wait for the reply (default 5000; Infinity waits for ever). */
  timeout?: number;
  /** Aborting rejects the call with the signal's reason. */
  signal?: AbortSignal;
}

export interface StopOptions {
  /** Milliseconds to wait for the actor to stop (default: the system's terminate timeout). */
  timeout?: number;
}

/** What a ref needs from the thread it is used on. */
export interface RefRouter {
  call(caller: Actor | null, ref: ActorRef, msg: unknown, opts: CallOptions | undefined): Promise<unknown>;
  request(caller: Actor | null, ref: ActorRef, msg: unknown, opts: CallOptions | undefined): Request<unknown>;
  cast(ref: ActorRef, kind: number, msg: unknown): void;
  stop(ref: ActorRef, reason: unknown): Promise<void>;
}

export const ROUTER = Symbol('threadstate.router');
export const CACHED = Symbol('threadstate.actor');
/** The shard the actor was last known on (-1: unknown), carried when the ref crosses threads. */
export const SHARD_HINT = Symbol('threadstate.shard');
/** The actor's slot in the wait-for graph (-1: unknown), for deadlock checks by callers. */
export const SLOT = Symbol('threadstate.slot');

export class ActorRef {
  [ROUTER]: RefRouter;
  [CACHED]: Actor | null;
  [SHARD_HINT]: number;
  [SLOT]: number;

  constructor(readonly id: string, router: RefRouter, actor: Actor | null, shard = -1, slot = -1) {
    this[ROUTER] = router;
    this[CACHED] = actor;
    this[SHARD_HINT] = shard;
    this[SLOT] = slot;
  }

  /** Sends `msg` and awaits the reply. Rejects with CallTimeoutError, NoProcError, ActorCrashedError… */
  call<R = unknown>(msg: unknown, opts?: CallOptions): Promise<R> {
    return this[ROUTER].call(null, this, msg, opts) as Promise<R>;
  }

  /** Sends `msg` without waiting. A message that cannot be delivered becomes a dead letter. */
  cast(msg: unknown): void {
    this[ROUTER].cast(this, 1 /* CAST */, msg);
  }

  /** Sends `msg` as an `info` event (a plain message, Erlang's `!`). */
  send(msg: unknown): void {
    this[ROUTER].cast(this, 2 /* INFO */, msg);
  }

  /** Sends a call now; await or poll its reply later (gen_statem's send_request). */
  sendRequest<R = unknown>(msg: unknown, opts?: CallOptions): Request<R> {
    return this[ROUTER].request(null, this, msg, opts) as Request<R>;
  }

  /** Stops the actor after the messages already queued; resolves once it has stopped. */
  stop(reason: unknown = 'normal'): Promise<void> {
    return this[ROUTER].stop(this, reason);
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  toString(): string {
    return `ActorRef(${this.id})`;
  }
}
