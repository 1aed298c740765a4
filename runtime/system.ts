/**
 * The ActorSystem facade: what `createSystem` returns. With `workers: 0` every actor runs on the
 * calling thread, on one ActorHost.
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { EventEmitter } from 'eventemitter3';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Machine } from '../actors/machine.js';
import { type Clock, RealClock, VirtualClock } from './clock.js';
import { InvalidArgumentError, SystemShutdownError } from './errors.js';
import type { SystemEventMap } from './events.js';
import { ensureDirectory, Journal, type JournalFailure, type JournalOptions, type JournalSource, type Receipt } from './journal.js';
import { DEFAULT_MAX_UNACKED, JournalClient } from './journal-client.js';
import { JournalError } from './journal-error.js';
import { ActorHost, DEFAULT_CALL_TIMEOUT } from './host.js';
import type { ActorRef } from './ref.js';
import { Remote } from './remote.js';
import { Scheduler } from './scheduler.js';
import { ShardPool } from './shard-pool.js';
import type { Durability, SpawnOptions } from './spawn-options.js';
import { TimerEntry } from './timer-heap.js';
import { settlesWithin } from './within.js';
import { createWaitGraph, MAX_SLOTS, WaitGraph, type WaitGraphLayout } from './wait-graph.js';
import { isSupervisorSpec, SupervisorError, type SupervisorSpec } from '../supervisor/spec.js';
import { Supervisor, type SupervisionPort, type SupervisorRef } from '../supervisor/supervisor.js';

export interface SystemOptions {
  /** Shard threads (worker threads hosting actors). 0 runs every actor on the calling thread.
   *  Default: the number of CPUs. */
  workers?: number;
  /** The SQLite journal of receipts and snapshots: a file path, or ':memory:'. Default
   *  './data/threadstate.db' (the directory is made if missing). `false`: no journal — no
   *  receipts are kept (they are still emitted as events) and no actor can be persistent. */
  db?: string | false;
  /** Every actor's default durability (`spawn`'s `durability` overrides it). Without it:
   *  'commit' for persistent actors, 'async' for the others. */
  durability?: Durability;
  /** Tuning of the journal: SQLite's `synchronous` ('full' default, or 'normal'), `busyTimeout`
   *  (ms, 5000), `maxBytes` (a size cap), and `maxUnacked`: the bound of the 'async' loss window,
   *  in rows per thread not yet committed (10000). */
  journal?: JournalOptions & { maxUnacked?: number };
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
  /** Milliseconds a shard may go without a heartbeat (its event loop blocked) before its worker is
   *  terminated and replaced (5000). */
  watchdog?: number;
  /** Milliseconds a shard may take to start (20000). */
  startTimeout?: number;
  /** Per-worker resource limits (e.g. `{ maxOldGenerationSizeMb: 512 }`); a worker that exceeds
   *  them dies and is replaced, its actors reported crashed. */
  resourceLimits?: ResourceLimits;
  /** Refuse a call that would close a cycle of actors waiting on each other (default true). */
  deadlockDetection?: boolean;
  /** Actors per thread covered by deadlock detection (default 262144); more still run, unchecked. */
  maxActorsPerThread?: number;
}

export interface SystemClock {
  readonly kind: 'real' | 'virtual';
  /** Epoch milliseconds as the system sees them. */
  now(): number;
  /** Virtual clock only: moves time forward, firing due timeouts in order, and lets actors react. */
  advance(ms: number): Promise<void>;
}

type Internals = Required<Pick<SystemOptions, 'callTimeout' | 'terminateTimeout' | 'shutdownTimeout' | 'watchdog' | 'startTimeout'>> & {
  logger: Logger;
  clock: Clock;
  workers: number;
  resourceLimits: ResourceLimits | undefined;
  waitGraph: WaitGraphLayout | null;
  journal: Journal | null;
  durability: Durability | undefined;
  maxUnacked: number;
};

export class ActorSystem extends EventEmitter<SystemEventMap> {
  readonly clock: SystemClock;
  readonly logger: Logger;
  /** Number of shard threads (0: everything on this thread). */
  readonly workers: number;
  private readonly host: ActorHost;
  private readonly pool: ShardPool | null;
  private readonly shutdownTimeout: number;
  private stopping: Promise<void> | null = null;
  private readonly exitWatchers = new Map<string, (reason: unknown) => void>();
  private readonly roots: Supervisor[] = [];
  private readonly scheduler: Scheduler;
  private readonly journal: Journal | null;

  /** @internal use createSystem */
  constructor(opts: Internals) {
    super();
    this.logger = opts.logger;
    this.workers = opts.workers;
    this.shutdownTimeout = opts.shutdownTimeout;
    const scheduler = new Scheduler(opts.clock, (err) => this.logger.error({ err }, 'internal error in the scheduler'));
    this.scheduler = scheduler;
    const journal = opts.journal;
    this.journal = journal;
    const emit = (name: string, ...payload: unknown[]): boolean => (this.emit as (n: string, ...p: unknown[]) => boolean)(name, ...payload);
    const exited = (id: string, reason: unknown): void => this.exitWatchers.get(id)?.(reason);
    const layout = opts.waitGraph;
    const graph = layout === null ? null : new WaitGraph(layout, opts.workers, () => this.logger.warn('deadlock detection: no free slot on the main thread'));
    this.host = new ActorHost({
      scheduler,
      graph,
      logger: opts.logger,
      events: { wants: (name) => this.listenerCount(name) > 0, emit, exited },
      callTimeout: opts.callTimeout,
      terminateTimeout: opts.terminateTimeout,
      shards: Math.max(1, opts.workers),
    });
    this.pool = null;
    if (journal !== null) this.attachJournal(journal, opts);
    if (opts.workers > 0) {
      const host = this.host;
      const remote = new Remote(opts.workers, opts.workers, host);
      host.remote = remote;
          const pool = new ShardPool({
        shards: opts.workers,
        host,
        remote,
        scheduler,
        logger: opts.logger,
        emit,
        exited,
        waitGraph: layout,
        clock: opts.clock.kind,
        epoch: opts.clock.wallNow() - opts.clock.now(),
        callTimeout: opts.callTimeout,
        terminateTimeout: opts.terminateTimeout,
        shutdownTimeout: opts.shutdownTimeout,
        watchdog: opts.watchdog,
        startTimeout: opts.startTimeout,
        resourceLimits: opts.resourceLimits,
        journal: journal === null ? null : { durability: opts.durability, maxUnacked: opts.maxUnacked, path: journal.path === ':memory:' ? null : journal.path },
      });
      host.spawner = (machine, spawnOpts) => pool.spawn(machine, spawnOpts);
      this.pool = pool;
      if (journal !== null) {
        // Rows from a shard are committed here; the acknowledgement goes back to the same
        // incarnation of the shard that sent them (a replacement starts its tags afresh).
        remote.onNote = (op, a, b, from) => {
          if (op !== 'j') return;
          const link = remote.linkTo(from);
          const source: JournalSource = { ack: (upTo, failure) => void (remote.linkTo(from) === link && remote.note(from, 'jack', upTo, failure)) };
          journal.submit(source, a as unknown[], b as number);
        };
      }
    }
    const clock = opts.clock;
    const pool = this.pool;
    this.clock = {
      kind: clock.kind,
      now: () => clock.wallNow(),
      advance: async (ms: number) => {
        if (clock.kind !== 'virtual') throw new InvalidArgumentError('clock.advance needs createSystem({ clock: "virtual" })');
        if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`clock.advance: ms must be a finite number >= 0, got ${String(ms)}`);
        if (pool !== null) await pool.advance(ms);
        else await scheduler.advance(ms);
      },
    };
  }

  /** The main thread's own actors write through a client too; failures become events. */
  private attachJournal(journal: Journal, opts: Internals): void {
    const host = this.host;
    const client = new JournalClient(
      (rows, upTo) => journal.submit(source, rows, upTo),
      (actors, err) => host.crashJournaled(actors, err),
      opts.maxUnacked,
    );
    const source: JournalSource = { ack: (upTo, failure) => client.onAck(upTo, failure) };
    host.journal = client;
    journal.refs = (id, shard, slot) => host.refAt(id, shard, slot);
    host.durability = opts.durability;
    // The chain goes on from its real head (a snapshot is behind it if the same id also ran as a
    // non-persistent actor since).
    host.snapshots = (id) => journal.resumeOf(id);
    host.settleJournal = (id) => journal.settle(id);
    host.chainHead = (id) => journal.chainHead(id);
    journal.onError = (err: JournalError, failure: JournalFailure) => {
      this.logger.error({ err, actors: failure.actors.map(([id]) => id) }, 'journal: a group commit failed; its actors crash and their callers get the error');
      (this.emit as (n: string, ...p: unknown[]) => boolean)('journalError', { error: err, actors: failure.actors.map(([id]) => id) });
    };
  }

  /** Every thread sends the journal the rows it holds (its reads commit them first). */
  private async syncJournal(what: string): Promise<Journal> {
    const journal = this.needJournal(what);
    this.host.journal?.flush();
    if (this.pool !== null) await this.pool.flushJournal();
    return journal;
  }

  /** @internal starts the shards */
  async startShards(): Promise<void> {
    if (this.pool === null) return;
    try {
      await this.pool.start();
    } catch (err) {
      await this.pool.shutdown().catch(() => undefined);
      throw err;
    }
  }

  /** Shards forward transition and receipt events only once someone listens for them. */
  override on<T extends keyof SystemEventMap>(event: T, fn: (...args: SystemEventMap[T]) => void, context?: unknown): this {
    if (this.pool !== null) this.pool.want(event);
    return super.on(event, fn, context);
  }

  override once<T extends keyof SystemEventMap>(event: T, fn: (...args: SystemEventMap[T]) => void, context?: unknown): this {
    if (this.pool !== null) this.pool.want(event);
    return super.once(event, fn, context);
  }

  /** Starts an actor running `machine`. Resolves once its `init` has returned. */
  spawn<A, D>(machine: Machine<A, D>, opts?: SpawnOptions<A>): Promise<ActorRef> {
    return this.host.spawn(machine, opts);
  }

  /**
   * Starts a supervision tree; resolves with the root supervisor's ref once every child has
   * started (in order). If a child fails to start, those started are stopped and this rejects.
   */
  async start(spec: SupervisorSpec): Promise<SupervisorRef> {
    if (this.stopping !== null || this.host.closed) throw new SystemShutdownError('start');
    if (!isSupervisorSpec(spec)) throw new SupervisorError('bad_spec', 'system.start expects a spec made by supervisor()');
    const sup = new Supervisor(spec, this.supervisionPort());
    await sup.start();
    this.roots.push(sup);
    sup.onExit((reason) => {
      if (this.stopping === null) this.logger.error({ supervisor: spec.id, reason }, 'root supervisor stopped');
    });
    return sup.ref;
  }

  private supervisionPort(): SupervisionPort {
    const scheduler = this.scheduler;
    return {
      spawn: (machine, opts) => this.host.spawn(machine, opts),
      stop: async (id, reason, timeoutMs) => {
        if (!this.has(id)) return;
        const gone = this.ref(id).stop(reason);
        if (!(await settlesWithin(gone, timeoutMs))) await this.kill(id, 'killed');
        await gone.catch(() => undefined);
      },
      kill: (id, reason) => this.kill(id, reason),
      watch: (id, onExit) => {
        this.exitWatchers.set(id, (reason) => {
          this.exitWatchers.delete(id);
          onExit(reason);
        });
        return () => this.exitWatchers.delete(id);
      },
      now: () => scheduler.clock.now(),
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          scheduler.arm(new Wakeup(resolve), scheduler.clock.now() + ms);
        }),
      logger: this.logger,
      report: (event, payload) => (this.emit as (n: string, ...p: unknown[]) => boolean)(event, payload),
      persistentChildren: (parent) => this.persistentChildren(parent),
      forgetPersistent: (id) => this.journal?.forget(id),
    };
  }

  /** Stops an actor at once, without terminate (brutal kill). */
  async kill(id: string, reason: unknown = 'killed'): Promise<void> {
    const local = this.host.actors.get(id);
    if (local !== undefined) local.kill(reason);
    else if (this.pool !== null) await this.pool.kill(id, reason);
  }

  /** A ref to the actor with this id (it reaches whichever actor holds the id when used). */
  ref(id: string): ActorRef {
    if (this.host.closed) throw new SystemShutdownError(`ref('${id}')`);
    return this.host.ref(id);
  }

  /** Whether an actor with this id is running. */
  has(id: string): boolean {
    return this.host.actors.has(id) || (this.pool?.has(id) ?? false);
  }

  /** Ids of the running actors. */
  actorIds(): string[] {
    return [...this.host.actors.keys(), ...(this.pool?.ids() ?? [])];
  }

  /** The shard an actor lives on (undefined on a workers: 0 system or for an unknown id). */
  shardOf(id: string): number | undefined {
    return this.pool?.shardOf(id);
  }

  /** Current state of a running actor (for inspection and tests), or undefined. */
  async stateOf(id: string): Promise<unknown> {
    const local = this.host.actors.get(id);
    if (local !== undefined || this.pool === null) return local?.state;
    return (await this.pool.inspect(id))?.state;
  }

  /** Names of an actor's armed timeouts ('timeout', 'state_timeout', named ones). */
  async timeoutsOf(id: string): Promise<string[]> {
    const local = this.host.actors.get(id);
    if (local !== undefined || this.pool === null) return local?.armedTimeouts() ?? [];
    return (await this.pool.inspect(id))?.timeouts ?? [];
  }

  /** An actor's receipts from the journal, oldest first (needs the `db` option). */
  async receipts(id: string, opts: { since?: number; limit?: number } = {}): Promise<Receipt[]> {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('receipts: id must be a non-empty string');
    return (await this.syncJournal('receipts')).receipts(id, opts);
  }

  /** Checks an actor's hash chain: `{ ok: true }`, or where it breaks. */
  async verifyReceipts(id: string): Promise<{ ok: true } | { ok: false; brokenAt: number; why: string }> {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('verifyReceipts: id must be a non-empty string');
    return (await this.syncJournal('verifyReceipts')).verify(id);
  }

  /** @internal The persistent actors a supervisor had running, from the journal. */
  persistentChildren(parent: string): { id: string; args: unknown }[] {
    return this.journal === null ? [] : this.journal.childrenOf(parent);
  }

  private needJournal(what: string): Journal {
    if (this.journal === null) throw new InvalidArgumentError(`${what}: this system has no journal (createSystem({ db: false }))`);
    return this.journal;
  }

  /** Stops every actor, one at a time, newest first, after their queued messages (each killed if it
   *  takes longer than shutdownTimeout), then closes the shards. Idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      // Supervision trees first (newest tree first; each stops its children newest first).
      for (const sup of [...this.roots].reverse()) await sup.stop('shutdown').catch((err: unknown) => this.logger.error({ err }, 'supervisor stop failed'));
      await this.host.shutdown(this.shutdownTimeout);
      if (this.pool !== null) await this.pool.shutdown();
      this.journal?.close();
      this.logger.flush?.();
    })();
    return this.stopping;
  }
}

/** A one-shot timer on the system's scheduler (virtual-clock aware). */
class Wakeup extends TimerEntry {
  constructor(private readonly resolve: () => void) {
    super();
  }
  fire(): void {
    this.resolve();
  }
}

export async function createSystem(opts: SystemOptions = {}): Promise<ActorSystem> {
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('createSystem: options must be an object');
  const workers = opts.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new InvalidArgumentError(`createSystem: workers must be an integer from 0 to 64, got ${String(opts.workers)}`);
  if (opts.db !== undefined && opts.db !== false && (typeof opts.db !== 'string' || opts.db.length === 0)) throw new InvalidArgumentError('createSystem: db must be a file path, ":memory:" or false');
  if (opts.durability !== undefined && !['commit', 'async', 'none'].includes(opts.durability)) throw new InvalidArgumentError(`createSystem: durability must be 'commit', 'async' or 'none', not ${JSON.stringify(opts.durability)}`);
  const jo = opts.journal ?? {};
  if (typeof jo !== 'object' || jo === null) throw new InvalidArgumentError('createSystem: journal must be an object');
  if (jo.synchronous !== undefined && jo.synchronous !== 'full' && jo.synchronous !== 'normal') throw new InvalidArgumentError(`createSystem: journal.synchronous must be 'full' or 'normal'`);
  for (const k of ['busyTimeout', 'maxBytes'] as const) {
    const v = jo[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new InvalidArgumentError(`createSystem: journal.${k} must be a finite number >= 0, got ${String(v)}`);
  }
  const maxUnacked = jo.maxUnacked ?? DEFAULT_MAX_UNACKED;
  if (!Number.isInteger(maxUnacked) || maxUnacked < 0) throw new InvalidArgumentError('createSystem: journal.maxUnacked must be an integer >= 0');
  if (opts.clock !== undefined && opts.clock !== 'real' && opts.clock !== 'virtual') throw new InvalidArgumentError(`createSystem: clock must be 'real' or 'virtual', got ${JSON.stringify(opts.clock)}`);
  const ms = (name: 'callTimeout' | 'terminateTimeout' | 'shutdownTimeout' | 'watchdog' | 'startTimeout', dflt: number): number => {
    const v = opts[name] ?? dflt;
    if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) throw new InvalidArgumentError(`createSystem: ${name} must be a number of milliseconds > 0, got ${String(v)}`);
    return v;
  };
  const logger = isLogger(opts.logger) ? opts.logger : pino({ name: 'threadstate', level: process.env.THREADSTATE_LOG_LEVEL ?? 'info', ...opts.logger });
  if (opts.deadlockDetection !== undefined && typeof opts.deadlockDetection !== 'boolean') throw new InvalidArgumentError('createSystem: deadlockDetection must be a boolean');
  const perThread = opts.maxActorsPerThread ?? 1 << 18;
  if (!Number.isInteger(perThread) || perThread < 1 || perThread * (workers + 1) > MAX_SLOTS) {
    throw new InvalidArgumentError(`createSystem: maxActorsPerThread must be an integer from 1 to ${Math.floor(MAX_SLOTS / (workers + 1))} (with ${workers} workers)`);
  }
  const timeouts = {
    callTimeout: ms('callTimeout', DEFAULT_CALL_TIMEOUT),
    terminateTimeout: ms('terminateTimeout', 5000),
    shutdownTimeout: ms('shutdownTimeout', 5000),
    watchdog: ms('watchdog', 5000),
    startTimeout: ms('startTimeout', 20_000),
  };
  // Every option is checked before the journal's file is opened.
  let journal: Journal | null = null;
  if (opts.db !== false) {
    const path = opts.db ?? DEFAULT_DB;
    if (opts.db === undefined) ensureDirectory(path);
    journal = new Journal(path, jo);
  }
  let system: ActorSystem;
  try {
    system = new ActorSystem({
      journal,
      durability: opts.durability,
      maxUnacked,
      waitGraph: opts.deadlockDetection === false ? null : createWaitGraph(workers + 1, perThread),
      logger,
      clock: opts.clock === 'virtual' ? new VirtualClock() : new RealClock(),
      ...timeouts,
      workers,
      resourceLimits: opts.resourceLimits,
    });
  } catch (err) {
    journal?.close();
    throw err;
  }
  try {
    await system.startShards();
  } catch (err) {
    journal?.close();
    throw err;
  }
  return system;
}

/** Where the journal lives when createSystem is given no `db`. */
export const DEFAULT_DB = './data/threadstate.db';

function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}
