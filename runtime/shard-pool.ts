/**
 * The main thread's side of the shards: a piscina pool running one long-lived shard task per
 * worker; the links between every pair of threads; the directory of actors (id → shard,
 * machine, spawn options) and their placement; a watchdog on the shards' heartbeats; and what
 * happens when a shard dies or hangs — its callers fail at once, its actors are reported
 * crashed with what a supervisor needs to restart them, and a fresh worker takes its place.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { Piscina } from 'piscina';
import type { Machine } from '../actors/machine.js';
import { VirtualClock } from './clock.js';
import { ActorExistsError, InvalidArgumentError, InvalidMachineError, ShardStartError } from './errors.js';
import type { CrashEvent, SystemEventMap } from './events.js';
import type { ActorHost } from './host.js';
import { PendingCall } from './pending-call.js';
import { type ActorRef, SHARD_HINT, SLOT } from './ref.js';
import type { Remote } from './remote.js';
import type { Scheduler } from './scheduler.js';
import type { ShardTask, SpawnRequest } from './shard.js';
import type { WaitGraphLayout } from './wait-graph.js';
import type { SpawnOptions } from './spawn-options.js';
import { checkTransferable, reasonFromWire } from './wire.js';
import { settlesWithin } from './within.js';

export interface ShardPoolOptions {
  shards: number;
  host: ActorHost;
  remote: Remote;
  scheduler: Scheduler;
  logger: Logger;
  emit: <K extends keyof SystemEventMap>(name: K, ...payload: SystemEventMap[K]) => void;
  /** Every actor on a shard that stops (or is lost with its shard). */
  exited: (id: string, reason: unknown) => void;
  waitGraph: WaitGraphLayout | null;
  clock: 'real' | 'virtual';
  epoch: number;
  callTimeout: number;
  terminateTimeout: number;
  shutdownTimeout: number;
  /** Milliseconds without a heartbeat before a shard is declared unresponsive. */
  watchdog: number;
  /** Milliseconds a shard may take to start. */
  startTimeout: number;
  resourceLimits: ResourceLimits | undefined;
  /** The journal's settings for the shards' clients (null: no journal). */
  journal: ShardTask['journal'];
}

interface DirectoryEntry {
  shard: number;
  slot: number;
  machine: string;
  key: string;
  opts: SpawnOptions;
}

interface ShardSlot {
  index: number;
  abort: AbortController;
  /** Heartbeat value last seen, and when it last changed (ms, real time). */
  lastBeat: number;
  lastChange: number;
  state: 'starting' | 'up' | 'down' | 'stopping';
  /** Why the watchdog killed it, if it did. */
  killedFor: string | null;
}

const here = fileURLToPath(import.meta.url);
const fromSources = extname(here) === '.ts';
/** The shard runtime: sources under tsx when this thread runs from sources (tests), else compiled. */
const SHARD_RUNTIME = new URL(`./shard${extname(here)}`, import.meta.url).href;
/** The piscina entry is always compiled JavaScript (npm test builds before it runs). */
const ENTRY = fromSources ? new URL('../dist/runtime/shard-entry.js', import.meta.url).href : new URL('./shard-entry.js', import.meta.url).href;

export class ShardPool {
  private readonly pool: Piscina;
  private readonly slots: ShardSlot[] = [];
  private readonly heartbeat = new SharedArrayBuffer(4 * 64);
  private readonly beats = new Int32Array(this.heartbeat);
  private readonly directory = new Map<string, DirectoryEntry>();
  private readonly reserved = new Set<string>();
  /** Ids whose actor stopped before their spawn's answer reached this thread. */
  private readonly stoppedEarly = new Set<string>();
  private readonly wanted = new Set<string>();
  private readonly readyWaiters = new Map<number, (ok: boolean) => void>();
  private watchdogTimer: NodeJS.Timeout | null = null;
  private nextAutoId = 0;
  private closing = false;

  constructor(private readonly o: ShardPoolOptions) {
    if (o.shards > 64) throw new InvalidArgumentError('workers: at most 64 shards');
    this.pool = new Piscina({
      filename: ENTRY,
      minThreads: o.shards,
      maxThreads: o.shards,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      atomics: 'disabled', // 'sync' would park an idle worker's event loop
      resourceLimits: o.resourceLimits,
    });
    const r = o.remote;
    r.onEvent = (name, payload) => this.onShardEvent(name, payload);
    r.onControl = (op, payload) => {
      if (op === 'spawn') return this.spawnRequest(payload as SpawnRequest).then((ref) => [ref.id, ref[SHARD_HINT], ref[SLOT]]);
      throw new Error(`unknown control op '${op}' on the main thread`);
    };
    r.onPortMessage = (link, message) => {
      const m = message as { type?: string; shard?: number };
      if (m.type === 'ready' && typeof m.shard === 'number') {
        const slot = this.slots[m.shard];
        if (slot !== undefined && slot.state === 'starting') slot.state = 'up';
        this.readyWaiters.get(m.shard)?.(true);
        void link;
      }
    };
    r.locate = (id) => this.directory.get(id)?.shard ?? -1;
    r.exists = (id) => this.directory.has(id) || this.reserved.has(id);
    o.host.directory = (id) => {
      const e = this.directory.get(id);
      return e === undefined ? undefined : [e.shard, e.slot];
    };
  }

  /** Starts every shard; rejects with ShardStartError if one does not come up. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.shards }, (_, i) => this.startShard(i)));
    const every = Math.max(50, Math.min(1000, Math.floor(this.o.watchdog / 4)));
    this.watchdogTimer = setInterval(() => this.checkHeartbeats(), every);
    this.watchdogTimer.unref();
  }

  private startShard(index: number): Promise<void> {
    const r = this.o.remote;
    const abort = new AbortController();
    const slot: ShardSlot = { index, abort, lastBeat: Atomics.load(this.beats, index), lastChange: Date.now(), state: 'starting', killedFor: null };
    this.slots[index] = slot;
    // A link to the main thread, and one to every other shard that is up.
    const main = new MessageChannel();
    r.attach(index, main.port1);
    const peers: [number, MessagePort][] = [];
    for (const other of this.slots) {
      if (other === undefined || other.index === index || other.state === 'down') continue;
      const ch = new MessageChannel();
      peers.push([other.index, ch.port1]);
      r.links[other.index]?.postControl({ type: 'peer', thread: index, port: ch.port2 }, [ch.port2]);
    }
    const task: ShardTask = {
      runtime: SHARD_RUNTIME,
      index,
      shards: this.o.shards,
      mainPort: main.port2,
      peers,
      heartbeat: this.heartbeat,
      heartbeatMs: Math.max(20, Math.min(500, Math.floor(this.o.watchdog / 10))),
      clock: this.o.clock,
      epoch: this.o.epoch,
      callTimeout: this.o.callTimeout,
      terminateTimeout: this.o.terminateTimeout,
      shutdownTimeout: this.o.shutdownTimeout,
      logLevel: this.o.logger.level,
      wanted: [...this.wanted],
      waitGraph: this.o.waitGraph,
      overrides: r.placement.entries(),
      journal: this.o.journal,
    };
    const ready = new Promise<boolean>((resolve) => {
      this.readyWaiters.set(index, resolve);
      setTimeout(() => resolve(false), this.o.startTimeout).unref();
    });
    const run = this.pool.run(task, { transferList: [main.port2, ...peers.map(([, p]) => p)], signal: abort.signal });
    run.then(
      () => this.onShardExit(slot, null),
      (err: unknown) => this.onShardExit(slot, err),
    );
    return ready.then((ok) => {
      this.readyWaiters.delete(index);
      if (ok) return;
      const detail = slot.state === 'down' ? 'its worker died while starting' : `no ready signal within ${this.o.startTimeout} ms`;
      if (slot.state !== 'down') abort.abort();
      throw new ShardStartError(index, detail);
    });
  }

  // ---------------------------------------------------------------- spawning and the directory

  spawn<A, D>(machine: Machine<A, D>, opts: SpawnOptions<A>): Promise<ActorRef> {
    if (machine.module === '') {
      return Promise.reject(new InvalidMachineError(`machine '${machine.name}' has no module a worker could import; define it at the top level of a module, or pass module: import.meta.url`));
    }
    return this.spawnRequest({ module: machine.module, name: machine.name, key: machine.key, opts: opts as SpawnOptions });
  }

  private async spawnRequest(req: SpawnRequest): Promise<ActorRef> {
    const r = this.o.remote;
    const opts = req.opts;
    const id = opts.id ?? this.autoId(req.name);
    if (this.directory.has(id) || this.reserved.has(id)) throw new ActorExistsError(id);
    checkTransferable(opts.args, `the spawn args of '${id}'`);
    let shard = opts.shard ?? (opts.near !== undefined ? this.nearShard(opts.near) : r.placement.shardOf(id));
    if (this.slots[shard]?.state !== 'up') shard = this.liveShard(shard);
    this.reserved.add(id);
    const moved = !r.placement.isDefault(id, shard);
    if (moved) {
      r.placement.place(id, shard);
      r.broadcastNote('place', id, shard);
    }
    const pc = new PendingCall(`shard ${shard}`, Math.max(30_000, this.o.callTimeout), this.o.scheduler, null);
    const wireOpts: SpawnOptions = { ...opts, id, near: undefined };
    // A persistent actor resumes from its last committed snapshot (read here, on the thread
    // that owns the journal, after everything already sent to it is committed).
    // The head of the id's receipt chain goes with it too: the shard makes its next receipts.
    try {
      if (opts.persistent === true && opts.resume === undefined && this.o.journal !== null) {
        // A shard with its own reader on the file reads the snapshot and head itself, once the
        // actor's queued rows are committed; over ':memory:' they are read here and sent.
        if (this.o.journal.path !== null) this.o.host.settleJournal?.(id);
        else if (this.o.host.snapshots !== null) {
          const r = this.o.host.snapshots(id);
          wireOpts.resume = r.body;
          wireOpts.head = r.head;
        }
      } else if (this.o.host.chainHead !== null && opts.durability !== 'none') wireOpts.head = this.o.host.chainHead(id);
    } catch (err) {
      this.reserved.delete(id);
      throw err;
    }
    r.control(shard, pc, 'spawn', { ...req, opts: wireOpts });
    let slot = -1;
    try {
      slot = (await pc.toPromise()) as number;
    } catch (err) {
      if (moved) {
        r.placement.unplace(id);
        r.broadcastNote('unplace', id, null);
      }
      throw err;
    } finally {
      this.reserved.delete(id);
    }
    // The actor may already have stopped (its stop event overtook the spawn's answer): then it
    // has no place in the directory.
    if (this.stoppedEarly.delete(id)) {
      if (moved) {
        r.placement.unplace(id);
        r.broadcastNote('unplace', id, null);
      }
    } else this.directory.set(id, { shard, slot, machine: req.name, key: req.key, opts: { ...opts, id } });
    return this.o.host.refAt(id, shard, slot);
  }

  private nearShard(near: ActorRef | string): number {
    const id = typeof near === 'string' ? near : near.id;
    const entry = this.directory.get(id);
    if (entry === undefined) throw new InvalidArgumentError(`spawn: the actor given as \`near\` ('${id}') does not exist`);
    return entry.shard;
  }

  private liveShard(preferred: number): number {
    for (let i = 1; i <= this.o.shards; i++) {
      const s = (preferred + i) % this.o.shards;
      if (this.slots[s]?.state === 'up') return s;
    }
    throw new ShardStartError(preferred, 'no shard is up to host the actor');
  }

  private autoId(name: string): string {
    let id: string;
    do id = `${name}-${++this.nextAutoId}`;
    while (this.directory.has(id) || this.reserved.has(id));
    return id;
  }

  has(id: string): boolean {
    return this.directory.has(id);
  }

  /** Every live shard sends the journal rows it holds (they arrive ahead of its answer). */
  async flushJournal(): Promise<void> {
    const r = this.o.remote;
    const waits: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      if (slot?.state !== 'up') continue;
      const pc = new PendingCall(`shard ${slot.index}`, Math.max(30_000, this.o.callTimeout), this.o.scheduler, null);
      r.control(slot.index, pc, 'journal.flush', null);
      waits.push(pc.toPromise().catch(() => undefined));
    }
    await Promise.all(waits);
  }

  ids(): string[] {
    return [...this.directory.keys()];
  }

  shardOf(id: string): number | undefined {
    return this.directory.get(id)?.shard;
  }

  /** State and armed timeouts of an actor, asked of its shard. */
  async inspect(id: string): Promise<{ state: unknown; timeouts: string[] } | null> {
    const entry = this.directory.get(id);
    if (entry === undefined) return null;
    const pc = new PendingCall(`shard ${entry.shard}`, Infinity, this.o.scheduler, null);
    this.o.remote.control(entry.shard, pc, 'inspect', id);
    return (await pc.toPromise()) as { state: unknown; timeouts: string[] } | null;
  }

  /** Kills an actor on its shard at once, without terminate (brutal kill). */
  async kill(id: string, reason: unknown): Promise<void> {
    const entry = this.directory.get(id);
    if (entry === undefined) return;
    const pc = new PendingCall(`shard ${entry.shard}`, Infinity, this.o.scheduler, null);
    this.o.remote.control(entry.shard, pc, 'kill', { id, reason: typeof reason === 'string' ? reason : 'killed' });
    await pc.toPromise().catch(() => undefined); // its shard is gone: so is the actor
  }

  /** The main thread has a listener for `name`: shards start forwarding it. */
  want(name: string): void {
    if (this.wanted.has(name)) return;
    this.wanted.add(name);
    this.o.remote.broadcastNote('want', name, null);
  }

  private onShardEvent(name: string, payload: unknown): void {
    if (name === 'log') {
      const stream = (this.o.logger as unknown as Record<symbol, { write(line: string): void } | undefined>)[pino.symbols.streamSym];
      stream?.write(payload as string);
      return;
    }
    const p = payload as { id?: string; reason?: unknown };
    if ('reason' in p) p.reason = reasonFromWire(p.reason);
    const stopped = name === 'stop' && typeof p.id === 'string';
    if (stopped) {
      if (this.reserved.has(p.id as string)) this.stoppedEarly.add(p.id as string);
      this.forget(p.id as string);
    }
    (this.o.emit as (n: string, ...a: unknown[]) => void)(name, p);
    if (stopped) this.o.exited(p.id as string, p.reason);
  }

  private forget(id: string): void {
    this.directory.delete(id);
    const r = this.o.remote;
    if (r.placement.hasOverride(id)) {
      r.placement.unplace(id);
      r.broadcastNote('unplace', id, null);
    }
  }

  // ---------------------------------------------------------------- death, hangs and replacement

  private checkHeartbeats(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (slot === undefined || slot.state !== 'up') continue;
      const beat = Atomics.load(this.beats, slot.index);
      if (beat !== slot.lastBeat) {
        slot.lastBeat = beat;
        slot.lastChange = now;
      } else if (now - slot.lastChange > this.o.watchdog) {
        slot.killedFor = 'shard_unresponsive';
        this.o.logger.error({ shard: slot.index, silentMs: now - slot.lastChange }, 'shard missed its heartbeat; terminating its worker');
        slot.abort.abort();
      }
    }
  }

  private onShardExit(slot: ShardSlot, err: unknown): void {
    if (this.slots[slot.index] !== slot || slot.state === 'down') return;
    const wasStarting = slot.state === 'starting';
    const stopping = slot.state === 'stopping' || this.closing;
    slot.state = 'down';
    // At shutdown the task ends, or piscina's destroy() ends it: neither is a death.
    if (stopping) return;
    const reason = slot.killedFor ?? 'shard_down';
    const detail = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : 'the shard task ended';
    this.o.logger.error({ shard: slot.index, reason, detail }, 'shard worker died; its actors are reported crashed');
    const r = this.o.remote;
    r.shardDown(slot.index, reason);
    r.broadcastNote('down', slot.index, reason);
    // Every actor it hosted is reported crashed, with what is needed to start it again.
    const lost = [...this.directory].filter(([, e]) => e.shard === slot.index);
    for (const [id, entry] of lost) {
      this.forget(id);
      const crash: CrashEvent = { id, machine: entry.machine, reason, state: undefined, spawnOptions: entry.opts };
      this.o.logger.error({ actor: id, machine: entry.machine, reason, detail }, 'actor lost with its shard');
      this.o.emit('crash', crash);
      this.o.emit('stop', { id, machine: entry.machine, reason, state: undefined });
      this.o.exited(id, reason);
    }
    if (wasStarting) this.readyWaiters.get(slot.index)?.(false);
    if (!stopping && !wasStarting) {
      this.startShard(slot.index).catch((e: unknown) => this.o.logger.error({ shard: slot.index, err: e }, 'replacement shard failed to start'));
    }
  }

  // ---------------------------------------------------------------- virtual time

  /**
   * Moves every thread's virtual clock forward together: one deadline at a time, the earliest
   * across all threads, waiting after each for all threads to go quiet.
   */
  async advance(ms: number): Promise<void> {
    const clock = this.o.scheduler.clock as VirtualClock;
    const target = clock.now() + ms;
    await this.quiesce();
    for (;;) {
      const deadlines = await this.everyShard<number>('clock.next', null);
      const mainTop = this.o.scheduler.timers.peek();
      const all = [...deadlines.filter((d) => d >= 0), ...(mainTop ? [mainTop.deadline] : [])];
      const next = all.length > 0 ? Math.min(...all) : Infinity;
      if (next > target) break;
      await this.moveTo(next);
    }
    await this.moveTo(target);
  }

  private async moveTo(t: number): Promise<void> {
    (this.o.scheduler.clock as VirtualClock).setNow(t);
    this.o.scheduler.fireDue(t);
    await this.everyShard('clock.to', t);
    await this.quiesce();
  }

  /**
   * Waits until no thread has work queued and every record sent has been received, twice in a
   * row with nothing else sent in between. Each round is itself traffic — one probe to each live
   * shard and its reply — so between two quiet rounds the totals grow by exactly that.
   */
  async quiesce(maxRounds = 500): Promise<void> {
    let previous = -1;
    for (let round = 0; round < maxRounds; round++) {
      await this.o.scheduler.settle(2);
      const live = this.liveSlots().length;
      const reports = await this.everyShard<{ idle: boolean; pending: number; sent: number; received: number }>('quiet', null);
      const mine = this.o.remote.traffic();
      let sent = mine.sent;
      let received = mine.received;
      let idle = this.o.scheduler.idle && mine.pending === 0;
      for (const rep of reports) {
        sent += rep.sent;
        received += rep.received;
        idle &&= rep.idle && rep.pending === 0;
      }
      // This round's replies are counted as received here but not yet as sent by the shards.
      const balanced = idle && sent + live === received;
      if (balanced && previous >= 0 && sent === previous + 2 * live) return;
      previous = balanced ? sent : -1;
    }
    this.o.logger.warn({ rounds: maxRounds }, 'virtual clock: the threads did not go quiet; advancing anyway');
  }

  private liveSlots(): ShardSlot[] {
    return this.slots.filter((s) => s !== undefined && s.state === 'up');
  }

  private everyShard<T>(op: string, payload: unknown): Promise<T[]> {
    return Promise.all(
      this.liveSlots().map((s) => {
        const pc = new PendingCall(`shard ${s.index}`, Infinity, this.o.scheduler, null);
        this.o.remote.control(s.index, pc, op, payload);
        return pc.toPromise() as Promise<T>;
      }),
    );
  }

  // ---------------------------------------------------------------- shutdown

  /** Stops one actor (reason 'shutdown'), killing it after the shutdown timeout. */
  /** Stops a run of actors of one shard there, in order (the shard applies each one's timeout). */
  private async stopRun(ids: string[], shard: number): Promise<void> {
    const pc = new PendingCall(`shard ${shard}`, Infinity, this.o.scheduler, null);
    this.o.remote.control(shard, pc, 'stopInOrder', ids);
    await pc.toPromise().catch(() => undefined); // a shard that died meanwhile took its actors with it
  }

  private async stopOne(id: string, shard: number): Promise<void> {
    const pc = new PendingCall(id, Infinity, this.o.scheduler, null);
    this.o.remote.stop(shard, pc, id, 'shutdown');
    if (!(await settlesWithin(pc.toPromise(), this.o.shutdownTimeout))) {
      this.o.logger.warn({ actor: id, timeoutMs: this.o.shutdownTimeout }, 'actor did not stop in time at shutdown; killed');
      await this.kill(id, 'killed');
    }
  }

  /**
   * Stops every actor on the shards one at a time, newest first across all shards (so a newer
   * actor's terminate may still call an older one on another shard), each killed if it overruns
   * the shutdown timeout; then each shard ends its task and the pool and links close.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (this.watchdogTimer !== null) clearInterval(this.watchdogTimer);
    // Newest first across all shards. A run of consecutive actors on one shard goes in one
    // request (the shard stops them in that order): one round trip per run, not per actor.
    const runs: { shard: number; ids: string[] }[] = [];
    for (const [id, entry] of [...this.directory].reverse()) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last.shard === entry.shard) last.ids.push(id);
      else runs.push({ shard: entry.shard, ids: [id] });
    }
    for (const { shard, ids } of runs) {
      if (this.slots[shard]?.state !== 'up') continue;
      if (ids.length === 1) await this.stopOne(ids[0] as string, shard);
      else await this.stopRun(ids, shard);
    }
    const live = this.liveSlots();
    for (const s of live) s.state = 'stopping';
    await Promise.allSettled(
      live.map((s) => {
        const pc = new PendingCall(`shard ${s.index}`, Infinity, this.o.scheduler, null);
        this.o.remote.control(s.index, pc, 'shutdown', null);
        return pc.toPromise();
      }),
    );
    this.o.remote.closeAll();
    await this.pool.destroy();
  }
}
