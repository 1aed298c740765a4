/**
 * `ctx`, the second half of every handler's arguments: who the actor is, and how it reaches
 * other actors (call, cast, spawn) and the log. One per actor, made on its first event.
 */
import type { Logger } from 'pino';
import type { ActorRef, CallOptions } from '../runtime/ref.js';
import type { SpawnOptions } from '../runtime/spawn-options.js';
import type { Actor } from './actor.js';
import type { Machine, MachineEvent } from './machine.js';

/** What a context asks of the thread hosting its actor. */
export interface ContextServices {
  refFor(actor: Actor): ActorRef;
  loggerFor(actor: Actor): Logger;
  callFrom(caller: Actor, target: ActorRef | string, msg: unknown, opts?: CallOptions): Promise<unknown>;
  castFrom(caller: Actor, target: ActorRef | string, msg: unknown): void;
  monitorFrom(watcher: Actor, target: ActorRef | string): string;
  now(): number;
  demonitorFrom(watcher: Actor, tag: string): void;
  spawnFrom<A, D>(parent: Actor, machine: Machine<A, D>, opts?: SpawnOptions<A>): Promise<ActorRef>;
}

export class ActorContext {
  private logger: Logger | null = null;

  constructor(private readonly actor: Actor, private readonly services: ContextServices) {}

  /** This actor's own ref. */
  get self(): ActorRef {
    return this.services.refFor(this.actor);
  }

  /** The current time in epoch milliseconds, on the system's clock (virtual in tests): use it for
   *  `opts.at` deadlines rather than Date.now(). */
  now(): number {
    return this.services.now();
  }

  /** This actor's id. */
  get id(): string {
    return this.actor.id;
  }

  /** A pino child logger bound to this actor (made on first use). */
  get log(): Logger {
    return (this.logger ??= this.services.loggerFor(this.actor));
  }

  /** The event being handled (kind, msg, and `from` or `name` where they apply). */
  get event(): MachineEvent {
    return this.actor.eventObject(this.actor.curKind, this.actor.curMsg, this.actor.curAux);
  }

  /** Calls another actor and awaits its reply. Calling yourself fails at once with CallingSelfError. */
  call<R = unknown>(target: ActorRef | string, msg: unknown, opts?: CallOptions): Promise<R> {
    return this.services.callFrom(this.actor, target, msg, opts) as Promise<R>;
  }

  /** Sends a message without waiting. */
  cast(target: ActorRef | string, msg: unknown): void {
    this.services.castFrom(this.actor, target, msg);
  }

  /**
   * Watches another actor: when it stops (or if it is already gone) this actor gets an `info`
   * message `{ type: 'DOWN', monitor, id, reason }`. Returns the monitor's tag.
   */
  monitor(target: ActorRef | string): string {
    return this.services.monitorFrom(this.actor, target);
  }

  /** Cancels a monitor; a DOWN for it that has not been handled yet is dropped. */
  demonitor(tag: string): void {
    this.services.demonitorFrom(this.actor, tag);
  }

  /** Spawns another actor (placed by the system; on this thread when it has no shards). */
  spawn<A, D>(machine: Machine<A, D>, opts?: SpawnOptions<A>): Promise<ActorRef> {
    return this.services.spawnFrom(this.actor, machine, opts);
  }
}
