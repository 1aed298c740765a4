/**
 * The ActorSystem facade: what `createSystem` returns. With `workers: 0` every actor runs on the
 * calling thread, on one ActorHost.
 */
import { EventEmitter } from 'eventemitter3';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Machine } from '../actors/machine.js';
import { type Clock, RealClock, VirtualClock } from './clock.js';
import { InvalidArgumentError, SystemShutdownError } from './errors.js';
import type { SystemEventMap } from './events.js';
import { ActorHost, DEFAULT_CALL_TIMEOUT } from './host.js';
import type { ActorRef } from './ref.js';
import { Scheduler } from './scheduler.js';
import type { SpawnOptions } from './spawn-options.js';

export interface SystemOptions {
  /** Shard threads. 0 runs every actor on the calling thread. Default 0. */
  workers?: number;
  /** Journal database path (the SQLite journal is not part of this build yet). */
  db?: string;
  /** A pino logger, or options for one. Default: pino at level 'info' (THREADSTATE_LOG_LEVEL overrides). */
  logger?: Logger | LoggerOptions;
  /** 'virtual' makes time move only through `system.clock.advance(ms)` (for tests). */
  clock?: 'real' | 'virtual';
  /** Default call timeout in ms (5000). */
  callTimeout?: number;
  /** How long an async `terminate` may run before the actor is killed (5000 ms). */
  terminateTimeout?: number;
  /** How long `shutdown` waits for each actor to stop before killing it (5000 ms, OTP's default). */
  shutdownTimeout?: number;
}

export interface SystemClock {
  readonly kind: 'real' | 'virtual';
  /** Epoch milliseconds as the system sees them. */
  now(): number;
  /** Virtual clock only: moves time forward, firing due timeouts in order, and lets actors react. */
  advance(ms: number): Promise<void>;
}

export class ActorSystem extends EventEmitter<SystemEventMap> {
  readonly clock: SystemClock;
  readonly logger: Logger;
  private readonly host: ActorHost;
  private readonly shutdownTimeout: number;
  private stopping: Promise<void> | null = null;

  /** @internal use createSystem */
  constructor(opts: Required<Pick<SystemOptions, 'callTimeout' | 'terminateTimeout' | 'shutdownTimeout'>> & { logger: Logger; clock: Clock }) {
    super();
    this.logger = opts.logger;
    this.shutdownTimeout = opts.shutdownTimeout;
    const scheduler = new Scheduler(opts.clock, (err) => this.logger.error({ err }, 'internal error in the scheduler'));
    this.host = new ActorHost({
      scheduler,
      logger: opts.logger,
      events: {
        wants: (name) => this.listenerCount(name) > 0,
        emit: (name, ...payload) => (this.emit as (n: string, ...p: unknown[]) => boolean)(name, ...payload),
      },
      callTimeout: opts.callTimeout,
      terminateTimeout: opts.terminateTimeout,
      shards: 1,
    });
    const clock = opts.clock;
    this.clock = {
      kind: clock.kind,
      now: () => clock.wallNow(),
      advance: async (ms: number) => {
        if (clock.kind !== 'virtual') throw new InvalidArgumentError('clock.advance needs createSystem({ clock: "virtual" })');
        if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`clock.advance: ms must be a finite number >= 0, got ${String(ms)}`);
        await scheduler.advance(ms);
      },
    };
  }

  /** Starts an actor running `machine`. Resolves once its `init` has returned. */
  spawn<A, D>(machine: Machine<A, D>, opts?: SpawnOptions<A>): Promise<ActorRef> {
    return this.host.spawn(machine, opts);
  }

  /** A ref to the actor with this id (it reaches whichever actor holds the id when used). */
  ref(id: string): ActorRef {
    if (this.host.closed) throw new SystemShutdownError(`ref('${id}')`);
    return this.host.ref(id);
  }

  /** Whether an actor with this id is running. */
  has(id: string): boolean {
    return this.host.actors.has(id);
  }

  /** Ids of the running actors. */
  actorIds(): string[] {
    return [...this.host.actors.keys()];
  }

  /** Current state of a running actor (for inspection and tests), or undefined. */
  stateOf(id: string): unknown {
    return this.host.actors.get(id)?.state;
  }

  /** Names of an actor's armed timeouts ('timeout', 'state_timeout', named ones). */
  timeoutsOf(id: string): string[] {
    return this.host.actors.get(id)?.armedTimeouts() ?? [];
  }

  /** Stops every actor, one at a time, newest first, after their queued messages (each killed if it
   *  takes longer than shutdownTimeout), then closes. Idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= this.host.shutdown(this.shutdownTimeout).then(() => {
      this.logger.flush?.();
    });
    return this.stopping;
  }
}

export async function createSystem(opts: SystemOptions = {}): Promise<ActorSystem> {
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('createSystem: options must be an object');
  const workers = opts.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw new InvalidArgumentError(`createSystem: workers must be an integer >= 0, got ${String(opts.workers)}`);
  if (workers > 0) throw new InvalidArgumentError('createSystem: worker shards are not part of this build yet; use workers: 0');
  if (opts.db !== undefined) throw new InvalidArgumentError('createSystem: the SQLite journal (db) is not part of this build yet');
  if (opts.clock !== undefined && opts.clock !== 'real' && opts.clock !== 'virtual') throw new InvalidArgumentError(`createSystem: clock must be 'real' or 'virtual', got ${JSON.stringify(opts.clock)}`);
  const ms = (name: 'callTimeout' | 'terminateTimeout' | 'shutdownTimeout', dflt: number): number => {
    const v = opts[name] ?? dflt;
    if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) throw new InvalidArgumentError(`createSystem: ${name} must be a number of milliseconds > 0, got ${String(v)}`);
    return v;
  };
  const logger = isLogger(opts.logger) ? opts.logger : pino({ name: 'threadstate', level: process.env.THREADSTATE_LOG_LEVEL ?? 'info', ...opts.logger });
  return new ActorSystem({
    logger,
    clock: opts.clock === 'virtual' ? new VirtualClock() : new RealClock(),
    callTimeout: ms('callTimeout', DEFAULT_CALL_TIMEOUT),
    terminateTimeout: ms('terminateTimeout', 5000),
    shutdownTimeout: ms('shutdownTimeout', 5000),
  });
}

function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}
