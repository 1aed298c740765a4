/**
 * ActorHost: the actors of one thread — their registry, their scheduler, and the routing of
 * calls, casts and stops to them. It is the `ActorEnv` every actor runs in and the router every
 * local ref uses. Events (transition, crash, stop, deadLetter…) go to an injected sink.
 */
import type { Logger } from 'pino';
import { Actor, DEAD, RUNNING } from '../actors/actor.js';
import { CALL, CAST, INFO, kindName } from '../actors/event-kinds.js';
import { isMachine, type Machine } from '../actors/machine.js';
import { type Action, isAction } from '../actors/results.js';
import {
  ActorExistsError,
  CallingSelfError,
  EncodeError,
  DeadlockError,
  InitError,
  InvalidArgumentError,
  InvalidMachineError,
  InvalidResultError,
  MailboxFullError,
  NoProcError,
  SystemShutdownError,
} from './errors.js';
import type { SystemEventMap } from './events.js';
import { PendingCall } from './pending-call.js';
import { ActorRef, CACHED, type CallOptions, type RefRouter, SHARD_HINT, SLOT } from './ref.js';
import type { WaitGraph } from './wait-graph.js';
import { Monitors } from './monitors.js';
import { settlesWithin } from './within.js';
import type { Remote, RemoteFrom } from './remote.js';
import { checkWaitTimeout, Request } from './request.js';
import type { Scheduler } from './scheduler.js';
import { checkSpawnOptions, type Durability, type SpawnOptions } from './spawn-options.js';
import { DURABILITY_ASYNC, DURABILITY_COMMIT, DURABILITY_NONE, type JournalClient } from './journal-client.js';
import type { Resume, SnapshotBody } from './journal.js';
import { checkTransferable, decodeValue, encodeValue } from './wire.js';
import type { ReplyHandle } from './reply-handle.js';

export const DEFAULT_CALL_TIMEOUT = 5000;
/** Remote refs remembered per thread (then forgotten all at once: it is only a hint). */
const LEARNED_MAX = 100_000;

export interface EventSink {
  /** Whether anyone listens (so that hot paths skip building events nobody reads). */
  wants(name: keyof SystemEventMap): boolean;
  emit<K extends keyof SystemEventMap>(name: K, ...payload: SystemEventMap[K]): void;
  /** Every actor that stops, whoever listens (supervisors rely on it). */
  exited?(id: string, reason: unknown): void;
}

export interface HostOptions {
  scheduler: Scheduler;
  /** The wait-for graph for deadlock detection (null: detection off). */
  graph: WaitGraph | null;
  logger: Logger;
  events: EventSink;
  callTimeout: number;
  terminateTimeout: number;
  /** Number of shards in the system (for validating `shard`). */
  shards: number;
}

export class ActorHost implements RefRouter {
  readonly actors = new Map<string, Actor>();
  /** Ids reserved by spawns whose init is still running. */
  private readonly starting = new Set<string>();
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly terminateTimeout: number;
  readonly graph: WaitGraph | null;
  private readonly events: EventSink;
  private readonly callTimeout: number;
  private readonly shards: number;
  private nextAutoId = 0;
  /** The other threads, when the system has shards. */
  remote: Remote | null = null;
  /** Spawns that do not run here: on the main thread, placement onto a shard; on a shard, a
   *  request to the main thread. Null: every actor is spawned on this thread. */
  spawner: (<A, D>(machine: Machine<A, D>, opts: SpawnOptions<A>) => Promise<ActorRef>) | null = null;
  /** On the main thread: where an actor lives and its slot, from the directory. */
  directory: ((id: string) => [number, number] | undefined) | null = null;
  /** Shards and slots of remote actors seen in refs, for refs made from a bare id. */
  private readonly learned = new Map<string, [number, number]>();
  /** Shutdown has begun: no new actors. */
  private stopping = false;
  readonly monitors: Monitors;
  /** Shutdown is over: nothing at all. */
  closed = false;
  /** The journal as this thread's actors see it (null: the system keeps no receipts). */
  journal: JournalClient | null = null;
  /** The system's durability default, if it set one. */
  durability: Durability | undefined = undefined;
  /** Where a persistent actor's snapshot is read when the spawn did not bring it (the main
   *  thread, which owns the journal). */
  snapshots: ((id: string) => Resume) | null = null;
  /** Where the head of an id's receipt chain is read when the spawn did not bring it (ditto). */
  chainHead: ((id: string) => [number, Uint8Array | null]) | null = null;
  /** Commits an actor's queued rows now (before a shard reads its snapshot itself). */
  settleJournal: ((id: string) => void) | null = null;
  /** Starts at random: a replacement shard must not hand out numbers a fenced actor had. */
  private incarnations = Math.floor(Math.random() * 1e9);

  constructor(opts: HostOptions) {
    this.scheduler = opts.scheduler;
    this.graph = opts.graph;
    this.logger = opts.logger;
    this.events = opts.events;
    this.callTimeout = opts.callTimeout;
    this.terminateTimeout = opts.terminateTimeout;
    this.shards = opts.shards;
    const host = this; // the thread index is known only once the remote is attached
    this.monitors = new Monitors({
      get self() {
        return host.remote === null ? 0 : host.remote.self;
      },
      actor: (id) => this.actors.get(id),
      note: (thread, op, payload) => this.remote?.note(thread, `mon:${op}`, payload, null),
    });
  }

  // ---------------------------------------------------------------- spawning

  spawn<A, D>(machine: Machine<A, D>, opts: SpawnOptions<A> = {}): Promise<ActorRef> {
    try {
      if (this.closed || this.stopping) throw new SystemShutdownError('spawn');
      if (!isMachine(machine)) throw new InvalidMachineError(`spawn: expected a machine made by defineMachine(), got ${typeof machine === 'object' ? 'an object' : typeof machine}`);
      if (typeof opts === 'object' && opts !== null && (opts.head !== undefined || opts.resume !== undefined)) throw new InvalidArgumentError('spawn: head and resume are set by the runtime, not by callers');
      if (this.spawner !== null) {
        checkSpawnOptions(opts, this.shards);
        return this.spawner(machine, opts);
      }
      return this.spawnLocal(machine, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Spawns the actor on this thread. A synchronous `init` completes the spawn synchronously (the
   * promise is already resolved); an async one reserves the id while it runs.
   */
  spawnLocal<A, D>(machine: Machine<A, D>, opts: SpawnOptions<A>): Promise<ActorRef> {
    try {
      if (this.closed || this.stopping) throw new SystemShutdownError('spawn');
      const capacity = checkSpawnOptions(opts, this.shards);
      if (opts.near !== undefined && this.remote === null) {
        const nearId = typeof opts.near === 'string' ? opts.near : opts.near.id;
        if (!this.actors.has(nearId)) throw new NoProcError(nearId, 'spawn: the actor given as `near` does not exist');
      }
      this.checkDurability(opts as SpawnOptions);
      let id: string;
      if (opts.id === undefined) id = this.autoId(machine.name);
      else if (this.actors.has(opts.id) || this.starting.has(opts.id)) throw new ActorExistsError(opts.id);
      else id = opts.id;
      if (opts.persistent === true) {
        if (opts.resume !== undefined) {
          if (opts.resume !== null) return Promise.resolve(this.resumeActor(machine as Machine, id, opts.resume, capacity, opts as SpawnOptions));
        } else if (this.snapshots !== null) {
          const r = this.snapshots(id);
          if (r.body !== null) return Promise.resolve(this.resumeActor(machine as Machine, id, r.body, capacity, { ...(opts as SpawnOptions), head: r.head }));
          opts = { ...opts, head: r.head }; // no snapshot: init, and the chain goes on from its head
        }
      }
      let init: unknown;
      try {
        init = machine.spec.init(opts.args as A);
      } catch (err) {
        throw new InitError(id, err);
      }
      if (typeof init !== 'object' || init === null || typeof (init as PromiseLike<unknown>).then !== 'function') {
        return Promise.resolve(this.finishSpawn(machine as Machine, id, init, capacity, opts as SpawnOptions));
      }
      this.starting.add(id);
      return (init as Promise<unknown>).then(
        (value) => {
          this.starting.delete(id);
          return this.finishSpawn(machine as Machine, id, value, capacity, opts as SpawnOptions);
        },
        (err: unknown) => {
          this.starting.delete(id);
          throw new InitError(id, err);
        },
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** A spawn's durability must be something this system can give. */
  private checkDurability(opts: SpawnOptions): void {
    if (this.journal !== null) return;
    if (opts.persistent === true) throw new InvalidArgumentError('spawn: a persistent actor needs the journal (createSystem({ db }) must not be false)');
    if (opts.durability !== undefined && opts.durability !== 'none') throw new InvalidArgumentError(`spawn: durability '${opts.durability}' needs the journal (createSystem({ db }) must not be false)`);
  }

  private makeActor(machine: Machine, id: string, capacity: number, opts: SpawnOptions): Actor {
    const head = opts.head;
    // What the runtime added to the options is not kept (they are reported with a crash).
    if (head !== undefined || opts.resume !== undefined) opts = { ...opts, head: undefined, resume: undefined };
    const actor = new Actor(id, machine, this, capacity, opts);
    if (this.journal !== null) {
      // A persistent actor is never without receipts: a system default of 'none' is not for it.
      const fallback = this.durability ?? (opts.persistent === true ? 'commit' : 'async');
      const d = opts.durability ?? (opts.persistent === true && fallback === 'none' ? 'commit' : fallback);
      actor.durability = d === 'commit' ? DURABILITY_COMMIT : d === 'async' ? DURABILITY_ASYNC : DURABILITY_NONE;
      actor.persistent = opts.persistent === true;
      if (actor.durability !== DURABILITY_NONE) [actor.chainSeq, actor.chainHash] = head ?? this.chainHead?.(id) ?? [0, null];
      // Unique across threads (an id restarted on another shard must not inherit a fence).
      actor.incarnation = ++this.incarnations * 128 + (this.remote === null ? 127 : this.remote.self);
    }
    if (this.graph !== null) actor.slot = this.graph.allocate();
    this.actors.set(id, actor);
    return actor;
  }

  /** A persistent actor takes up its snapshot instead of running init. */
  private resumeActor(machine: Machine, id: string, body: Uint8Array, capacity: number, opts: SpawnOptions): ActorRef {
    let snap: SnapshotBody;
    try {
      snap = decodeValue(body, (rid, shard, slot) => this.refAt(rid, shard, slot)) as SnapshotBody;
    } catch (err) {
      throw new InitError(id, err);
    }
    const timerShape = (t: unknown): boolean => Array.isArray(t) && t.length === 4 && typeof t[0] === 'number' && typeof t[2] === 'number' && (t[1] === null || typeof t[1] === 'string');
    if (typeof snap !== 'object' || snap === null || !('state' in snap) || !Array.isArray(snap.timers) || !snap.timers.every(timerShape)) {
      throw new InitError(id, new InvalidResultError(`the snapshot of persistent actor '${id}' is not one this runtime wrote`));
    }
    if (machine.tables !== null && (typeof snap.state !== 'string' || !machine.tables.has(snap.state))) {
      throw new InitError(id, new InvalidResultError(`the snapshot of persistent actor '${id}' is in state ${JSON.stringify(snap.state)}, which machine '${machine.name}' does not have`));
    }
    const actor = this.makeActor(machine, id, capacity, { ...opts, args: opts.args ?? snap.args });
    const ref = this.refFor(actor);
    actor.resume(snap.state, snap.data, snap.timers);
    return ref;
  }

  private finishSpawn(machine: Machine, id: string, init: unknown, capacity: number, opts: SpawnOptions): ActorRef | Promise<ActorRef> {
    let checked: ReturnType<typeof checkInit>;
    try {
      checked = checkInit(machine, init);
    } catch (err) {
      throw new InitError(id, err);
    }
    if (this.stopping) throw new SystemShutdownError('spawn');
    const actor = this.makeActor(machine, id, capacity, opts);
    const ref = this.refFor(actor);
    actor.start(checked.state, checked.data, checked.actions);
    // Under 'commit', the spawn is answered once the initial receipt is committed.
    const journal = this.journal;
    if (journal !== null && actor.durability === DURABILITY_COMMIT && actor.status === RUNNING) {
      return new Promise<ActorRef>((resolve, reject) => {
        if (!journal.whenDurable(actor, (err) => (err === null ? resolve(ref) : reject(err)))) resolve(ref);
      });
    }
    return ref;
  }

  private autoId(name: string): string {
    let id: string;
    do id = `${name}-${++this.nextAutoId}`;
    while (this.actors.has(id) || (this.starting.size > 0 && this.starting.has(id)));
    return id;
  }

  // ---------------------------------------------------------------- refs and routing

  refFor(actor: Actor): ActorRef {
    return (actor.selfRef ??= new ActorRef(actor.id, this, actor, this.remote === null ? -1 : this.remote.self, this.graph === null ? -1 : this.graph.keyOf(actor.slot)));
  }

  /** A ref by id; it binds to whichever actor has that id when it is used. */
  ref(id: string): ActorRef {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('ref: id must be a non-empty string');
    const actor = this.actors.get(id);
    if (actor !== undefined) return this.refFor(actor);
    // Where the actor lives and its wait-graph slot, if this thread knows (the main thread's
    // directory, or refs seen here before), so that calls through this ref are deadlock-checked.
    const known = this.directory?.(id) ?? this.learned.get(id);
    return known !== undefined ? new ActorRef(id, this, null, known[0], known[1]) : new ActorRef(id, this, null);
  }

  /** A ref for an actor known to live on `shard` (a ref that arrived from another thread). */
  refAt(id: string, shard: number, slot = -1): ActorRef {
    const actor = this.actors.get(id);
    if (actor !== undefined) return this.refFor(actor);
    if (slot >= 0) {
      if (this.learned.size >= LEARNED_MAX) this.learned.clear();
      this.learned.set(id, [shard, slot]);
    }
    return new ActorRef(id, this, null, shard, slot);
  }

  /** The other thread a ref's actor lives on, or -1 if it would be here. */
  private remoteThread(ref: ActorRef): number {
    const remote = this.remote;
    if (remote === null) return -1;
    if (remote.exists !== null && !remote.exists(ref.id)) return -1; // the directory says: no such actor
    const t = remote.threadOf(ref);
    return t === remote.self ? -1 : t;
  }

  /** The live actor a ref reaches, or null. */
  private resolve(ref: ActorRef): Actor | null {
    const cached = ref[CACHED];
    if (cached !== null && cached.status !== DEAD) return cached;
    // A ref known to point at another thread skips the lookup (if the actor has in fact moved
    // here, the other thread forwards the message back).
    const remote = this.remote;
    if (remote !== null && ref[SHARD_HINT] >= 0 && ref[SHARD_HINT] !== remote.self) return null;
    const actor = this.actors.get(ref.id) ?? null;
    ref[CACHED] = actor;
    return actor;
  }

  private toRef(target: ActorRef | string): ActorRef {
    if (target instanceof ActorRef) return target;
    if (typeof target === 'string') return this.ref(target);
    throw new InvalidArgumentError('expected an ActorRef or an actor id');
  }

  call(caller: Actor | null, ref: ActorRef, msg: unknown, opts: CallOptions | undefined): Promise<unknown> {
    try {
      return this.send(caller, ref, msg, opts).toPromise();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  request(caller: Actor | null, ref: ActorRef, msg: unknown, opts: CallOptions | undefined): Request<unknown> {
    return new Request(ref.id, this.send(caller, ref, msg, opts), this.scheduler);
  }

  /** Queues a call; the returned PendingCall settles with the reply or the reason there is none. */
  private send(caller: Actor | null, ref: ActorRef, msg: unknown, opts: CallOptions | undefined): PendingCall {
    if (this.closed) throw new SystemShutdownError(`call to '${ref.id}'`);
    if (msg === undefined) throw new InvalidArgumentError(`call to '${ref.id}': the message is undefined`);
    let timeout = this.callTimeout;
    if (opts !== undefined) {
      if (opts.timeout !== undefined) {
        checkWaitTimeout(opts.timeout);
        timeout = opts.timeout;
      }
      if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new InvalidArgumentError('call: signal must be an AbortSignal');
    }
    const target = this.resolve(ref);
    if (caller !== null && target === caller) throw new CallingSelfError(caller.id);
    // Deadlock check: the caller's wait-for edge goes in before the call is sent.
    let cell = -1;
    let calleeSlot = -1;
    if (caller !== null && this.graph !== null && caller.slot >= 0) {
      calleeSlot = target !== null ? target.slot : this.graph.slotOf(ref[SLOT]);
      if (calleeSlot >= 0) {
        if (!caller.named) {
          this.graph.name(caller.slot, caller.id);
          caller.named = true;
        }
        // An actor waits for others only from inside a handler: a callee here that is not in
        // one cannot close a cycle, so the walk is skipped.
        if (target !== null && !target.busy) cell = this.graph.enterQuiet(caller.slot, calleeSlot);
        else {
          const entered = this.graph.enter(caller.slot, calleeSlot);
          if (typeof entered !== 'number') throw this.deadlock(entered);
          cell = entered;
        }
        if (cell >= 0) caller.waits++;
      }
    }
    const pc = new PendingCall(ref.id, timeout, this.scheduler, caller === null ? null : caller.id);
    if (cell >= 0) {
      pc.waitGraph = this.graph;
      pc.waitCell = cell;
      pc.waitCallee = calleeSlot;
    }
    if (opts?.signal !== undefined) {
      pc.watch(opts.signal);
      if (pc.settled) return pc; // aborted before it was sent: never delivered
    }
    if (target === null) {
      const thread = this.remoteThread(ref);
      if (thread >= 0) (this.remote as Remote).call(thread, pc, ref.id, msg);
      else pc.reject(new NoProcError(ref.id, 'no such actor'));
    } else if (target.status !== RUNNING) pc.reject(new NoProcError(ref.id, 'it is stopping'));
    else if (!target.deliver(CALL, msg, pc)) pc.reject(new MailboxFullError(ref.id, target.capacity));
    return pc;
  }

  /** The call that would close a cycle: its error, a log line and a `deadlock` event. */
  private deadlock(slots: number[]): DeadlockError {
    const graph = this.graph as WaitGraph;
    const cycle = slots.map((s) => graph.nameOf(s));
    const err = new DeadlockError(cycle);
    this.logger.warn({ cycle }, 'call refused: it would close a cycle of waiting actors');
    if (this.events.wants('deadlock')) this.events.emit('deadlock', { cycle });
    return err;
  }

  cast(ref: ActorRef, kind: number, msg: unknown): void {
    if (this.closed) throw new SystemShutdownError(`cast to '${ref.id}'`);
    if (msg === undefined) throw new InvalidArgumentError(`cast to '${ref.id}': the message is undefined`);
    const target = this.resolve(ref);
    if (target === null) {
      const thread = this.remoteThread(ref);
      if (thread >= 0) (this.remote as Remote).cast(thread, ref.id, kind, msg);
      else this.deadLetter(ref.id, kind, msg, 'noproc');
    } else if (target.status !== RUNNING) this.deadLetter(ref.id, kind, msg, 'stopping');
    else if (!target.deliver(kind, msg, undefined)) this.deadLetter(ref.id, kind, msg, 'mailbox_full');
  }

  stop(ref: ActorRef, reason: unknown): Promise<void> {
    if (this.closed) return Promise.reject(new SystemShutdownError(`stop of '${ref.id}'`));
    const target = this.resolve(ref);
    if (target !== null) return target.requestStop(reason);
    const thread = this.remoteThread(ref);
    if (thread < 0) return Promise.reject(new NoProcError(ref.id));
    const pc = new PendingCall(ref.id, Infinity, this.scheduler, null);
    (this.remote as Remote).stop(thread, pc, ref.id, reason);
    return pc.toPromise() as Promise<void>;
  }

  /** A cast, call or stop from another thread. Returns false when the actor does not live here. */
  deliverRemote(kind: number, id: string, msg: unknown, handle: RemoteFrom | undefined, stop: boolean): boolean {
    const target = this.actors.get(id);
    if (target === undefined) return false;
    if (stop) {
      void target.requestStop(msg).then(() => handle?.resolve(undefined));
    } else if (target.status !== RUNNING) {
      if (handle !== undefined) handle.reject(new NoProcError(id, 'it is stopping'));
      else this.deadLetter(id, kind, msg, 'stopping');
    } else if (handle !== undefined) {
      if (!target.deliver(CALL, msg, handle)) handle.reject(new MailboxFullError(id, target.capacity));
    } else if (!target.deliver(kind, msg, undefined)) this.deadLetter(id, kind, msg, 'mailbox_full');
    return true;
  }

  // ---------------------------------------------------------------- ActorEnv (what actors ask of us)

  loggerFor(actor: Actor): Logger {
    return this.logger.child({ actor: actor.id, machine: actor.machine.name });
  }

  callFrom(caller: Actor, target: ActorRef | string, msg: unknown, opts?: CallOptions): Promise<unknown> {
    try {
      return this.call(caller, this.toRef(target), msg, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  monitorFrom(watcher: Actor, target: ActorRef | string): string {
    const ref = this.toRef(target);
    const local = this.resolve(ref);
    const thread = local !== null ? -1 : this.remoteThread(ref);
    return this.monitors.monitor(watcher, ref.id, thread < 0 ? (this.remote === null ? 0 : this.remote.self) : thread);
  }

  now(): number {
    return this.scheduler.clock.wallNow();
  }

  demonitorFrom(_watcher: Actor, tag: string): void {
    this.monitors.demonitor(tag);
  }

  castFrom(_caller: Actor, target: ActorRef | string, msg: unknown): void {
    this.cast(this.toRef(target), CAST, msg);
  }

  spawnFrom<A, D>(_parent: Actor, machine: Machine<A, D>, opts?: SpawnOptions<A>): Promise<ActorRef> {
    return this.spawn(machine, opts);
  }

  /** The journal client, if this actor writes receipts. */
  private journalOf(actor: Actor): JournalClient | null {
    return actor.durability !== DURABILITY_NONE ? this.journal : null;
  }

  onTransition(actor: Actor, from: unknown, event: number): void {
    const journal = this.journalOf(actor);
    if (journal === null && !this.events.wants('transition')) return;
    const kind = event < 0 ? 'init' : kindName(event);
    const type = messageType(event, actor.curMsg);
    const at = this.scheduler.clock.wallNow();
    journal?.append(actor, at, from, actor.state, kind, type, null, undefined);
    if (this.events.wants('transition')) this.events.emit('transition', { id: actor.id, machine: actor.machine.name, from, to: actor.state, event: kind, type, at });
  }

  onReceipt(actor: Actor, reason: string, meta: unknown, event: number): void {
    const journal = this.journalOf(actor);
    if (journal === null && !this.events.wants('receipt')) return;
    const kind = event < 0 ? 'init' : kindName(event);
    const type = messageType(event, actor.curMsg);
    const at = this.scheduler.clock.wallNow();
    journal?.append(actor, at, actor.state, actor.state, kind, type, reason, meta);
    if (this.events.wants('receipt')) this.events.emit('receipt', { id: actor.id, machine: actor.machine.name, state: actor.state, reason, meta, event: kind, type, at });
  }

  encodeSnapshot(actor: Actor): Uint8Array | null {
    try {
      const snap: SnapshotBody = { state: actor.state, data: actor.data, timers: actor.timersForSnapshot(), args: (actor.spawnOptions as SpawnOptions).args };
      checkTransferable(snap, `the snapshot of persistent actor '${actor.id}'`);
      return encodeValue(snap);
    } catch (err) {
      actor.crash(err instanceof EncodeError ? err : new EncodeError(`persistent actor '${actor.id}': its snapshot cannot be encoded: ${(err as Error).message}`, { cause: err }));
      return null;
    }
  }

  onSnapshot(actor: Actor, snapshot: Uint8Array): void {
    this.journal?.snapshot(actor, this.scheduler.clock.wallNow(), snapshot, (actor.spawnOptions as SpawnOptions).parent);
  }

  durableReply(actor: Actor, handle: ReplyHandle, value: unknown): void {
    if (this.journal === null) handle.resolve(value);
    else this.journal.reply(actor, handle, value);
  }

  onStopped(actor: Actor, reason: unknown, abnormal: boolean): void {
    if (this.actors.get(actor.id) === actor) this.actors.delete(actor.id);
    const journal = this.journalOf(actor);
    if (journal !== null) {
      // A persistent actor that finished ('normal') is done for good: its snapshot goes. One
      // shut down or crashed keeps it, to be resumed. Its rows leave now, ahead of its exit.
      if (actor.persistent && reason === 'normal') journal.snapshot(actor, this.scheduler.clock.wallNow(), null, undefined);
      journal.flush();
    }
    this.monitors.stopped(actor.id, reason);
    this.monitors.watcherStopped(actor.id);
    if (this.graph !== null) this.graph.release(actor.slot);
    const base = { id: actor.id, machine: actor.machine.name, reason, state: actor.state };
    if (abnormal) {
      this.logger.error({ actor: actor.id, machine: actor.machine.name, state: actor.state, err: reason }, 'actor crashed');
      if (this.events.wants('crash')) this.events.emit('crash', { ...base, spawnOptions: actor.spawnOptions as SpawnOptions });
    }
    if (this.events.wants('stop')) this.events.emit('stop', base);
    this.events.exited?.(actor.id, reason);
  }

  deadLetter(to: string, kind: number, msg: unknown, reason: string): void {
    const kindText = kind === INFO ? 'info' : 'cast';
    this.logger.warn({ to, kind: kindText, reason }, 'dead letter');
    this.events.emit('deadLetter', { to, kind: kindText, msg, reason });
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Stops every actor one at a time, newest first (as a supervisor stops its children), each
   * after the messages already in its mailbox, so a newer actor's terminate may still call an
   * older one. An actor that has not stopped within `timeoutMs` is killed, and the next one is
   * stopped (OTP's shutdown timeout, then brutal kill). Spawns finishing meanwhile are refused.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (let newest = [...this.actors.values()].reverse(); newest.length > 0; newest = [...this.actors.values()].reverse()) {
      for (const actor of newest) await this.stopWithin(actor, timeoutMs);
    }
    this.closed = true;
    this.scheduler.close();
  }

  /** Actors whose journal rows could not be committed crash (the same incarnation only: a
   *  newer one with the id started clean). */
  crashJournaled(actors: readonly [string, number][], err: Error): void {
    for (const [id, incarnation] of actors) {
      const actor = this.actors.get(id);
      if (actor !== undefined && actor.incarnation === incarnation) actor.crash(err);
    }
  }

  /** Stops these actors one after the other, in the order given (each killed after `timeoutMs`);
   *  ids not here (any more) are skipped. The system's shutdown sends runs of consecutive actors
   *  that live on one shard here in one request. */
  async stopInOrder(ids: readonly string[], timeoutMs: number): Promise<void> {
    for (const id of ids) {
      const actor = this.actors.get(id);
      if (actor !== undefined) await this.stopWithin(actor, timeoutMs);
    }
  }

  private async stopWithin(actor: Actor, timeoutMs: number): Promise<void> {
    if (!(await settlesWithin(actor.requestStop('shutdown'), timeoutMs))) {
      this.logger.warn({ actor: actor.id, timeoutMs }, 'actor did not stop in time at shutdown; killed');
      actor.kill('killed');
    }
  }
}

/** A receipt's event type: a message's `type` field, the message if it is a short string, or its JavaScript type. */
function messageType(event: number, msg: unknown): string | null {
  if (event < 0) return null;
  if (typeof msg === 'string') return msg.length <= 64 ? msg : 'string';
  if (typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string') return (msg as { type: string }).type;
  return msg === null ? 'null' : typeof msg;
}

/** Validates what `init` returned. */
function checkInit(machine: Machine, init: unknown): { state: unknown; data: unknown; actions: readonly Action[] | null } {
  if (typeof init !== 'object' || init === null || !('state' in init)) {
    throw new InvalidResultError(`init of machine '${machine.name}' must return { state, data, actions? }, got ${init === null ? 'null' : typeof init}`);
  }
  const { state, data, actions } = init as { state: unknown; data: unknown; actions?: unknown };
  if (machine.tables !== null && (typeof state !== 'string' || !machine.tables.has(state))) {
    throw new InvalidResultError(`init of machine '${machine.name}' returned state ${JSON.stringify(state)}, which is not one of its states (${[...machine.tables.keys()].join(', ')})`);
  }
  if (actions !== undefined && (!Array.isArray(actions) || !actions.every(isAction))) {
    throw new InvalidResultError(`init of machine '${machine.name}': actions must be an array of actions`);
  }
  return { state, data, actions: actions === undefined || (actions as Action[]).length === 0 ? null : (actions as Action[]) };
}
