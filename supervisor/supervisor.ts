/**
 * A supervisor, as OTP defines one. It lives on the main thread (the control plane, which
 * outlives any worker); its children live wherever the system places them. It handles one thing
 * at a time — a child's exit, or a dynamic API request — in arrival order, like OTP's
 * supervisor process.
 *
 * Restarts follow the strategy (one_for_one, one_for_all, rest_for_one, simple_one_for_one) and
 * each child's restart type (permanent always; transient after an abnormal exit; temporary
 * never, not even when a sibling's restart takes it down). More than `intensity` restarts within
 * `period` ms and the supervisor stops its children and itself with reason 'shutdown': its parent
 * then sees a child exit, which is how a failure escalates up the tree.
 */
import { isNormalReason } from '../actors/actor.js';
import type { Machine } from '../actors/machine.js';
import { describeReason } from '../runtime/errors.js';
import type { ActorRef } from '../runtime/ref.js';
import type { SpawnOptions } from '../runtime/spawn-options.js';
import { Deque } from '../runtime/deque.js';
import type { Logger } from 'pino';
import { type Backoff, type ChildSpec, isSupervisorSpec, SupervisorError, type SupervisorSpec, type WorkerSpec } from './spec.js';

/** What a supervisor asks of the system. */
export interface SupervisionPort {
  spawn(machine: Machine, opts: SpawnOptions): Promise<ActorRef>;
  /** Stops gracefully, killing after `timeoutMs` (Infinity: wait for ever). Resolves once gone. */
  stop(id: string, reason: unknown, timeoutMs: number): Promise<void>;
  kill(id: string, reason: unknown): Promise<void>;
  /** Calls `onExit` once when the actor stops; returns a function that cancels the watch. */
  watch(id: string, onExit: (reason: unknown) => void): () => void;
  /** Monotonic milliseconds (the system clock: virtual in tests). */
  now(): number;
  sleep(ms: number): Promise<void>;
  readonly logger: Logger;
  report(event: 'restart' | 'supervisorDown', payload: Record<string, unknown>): void;
  /** The persistent actors this supervisor had running when it last stopped or the process
   *  died (from the journal): a simple_one_for_one supervisor brings them back at start. */
  persistentChildren(parent: string): { id: string; args: unknown }[];
  /** Deletes a persistent actor's snapshot (a child removed for good). */
  forgetPersistent(id: string): void;
}

type Instance = { kind: 'worker'; ref: ActorRef } | { kind: 'supervisor'; sup: Supervisor };

interface Child {
  spec: ChildSpec;
  instance: Instance | null;
  status: 'running' | 'terminated' | 'restarting';
  unwatch: (() => void) | null;
  /** Consecutive restarts, for backoff. */
  restarts: number;
  startedAt: number;
}

export interface ChildInfo {
  id: string;
  ref: ActorRef | SupervisorRef | undefined;
  type: 'worker' | 'supervisor';
  restart: string;
  status: Child['status'];
}

export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

/** Persistent children brought back at once by a simple_one_for_one supervisor's start. */
const RESTORE_CONCURRENCY = 1000;

export class Supervisor {
  readonly id: string;
  private children: Child[] = [];
  /** Times of the restarts within the period, oldest first (a deque: a storm of thousands of
   *  restarts must not cost a pass over all of them each). */
  private readonly restartTimes = new Deque<number>();
  /** The children by id (lookups and membership in O(1) for pools of many thousands). */
  private readonly byId = new Map<string, Child>();
  private work: Promise<unknown> = Promise.resolve();
  private status: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  private exitListeners: ((reason: unknown) => void)[] = [];
  private dynamicCount = 0;
  /** simple_one_for_one restarts under way (they run outside the queue). */
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly ref: SupervisorRef;

  constructor(
    readonly spec: SupervisorSpec,
    private readonly port: SupervisionPort,
  ) {
    this.id = spec.id;
    this.ref = new SupervisorRef(this);
  }

  get running(): boolean {
    return this.status === 'running' || this.status === 'starting';
  }

  /** Starts the children in order. If one fails, those started are stopped (newest first) and the start rejects.
   *  It runs as the supervisor's first job: an exit during the start is handled right after it. */
  start(): Promise<void> {
    return this.serialize(async () => {
      // Static children one after the other, in order; the persistent children a
      // simple_one_for_one supervisor brings back have no order, so many start at once.
      for (const spec of this.spec.children) {
        const c: Child = { spec, instance: null, status: 'terminated', unwatch: null, restarts: 0, startedAt: 0 };
        this.add(c);
        try {
          await this.startChildProcess(c);
        } catch (err) {
          this.remove(c);
          this.status = 'stopping';
          await this.terminateAll();
          this.status = 'stopped';
          throw new SupervisorError('start_failed', `supervisor '${this.id}': child '${spec.id}' failed to start: ${describeReason(err)}`, { cause: err });
        }
      }
      // A restored child that cannot start (its machine no longer has the snapshot's state, say)
      // is logged and left out; its snapshot stays for an operator to look at. The others start.
      const restored = this.persistentChildren();
      for (let i = 0; i < restored.length; i += RESTORE_CONCURRENCY) {
        const step = restored.slice(i, i + RESTORE_CONCURRENCY);
        const started = step.map((spec): Child => ({ spec, instance: null, status: 'terminated', unwatch: null, restarts: 0, startedAt: 0 }));
        for (const c of started) this.add(c);
        const outcomes = await Promise.allSettled(started.map((c) => this.startChildProcess(c)));
        for (let j = 0; j < started.length; j++) {
          const o = outcomes[j];
          if (o?.status !== 'rejected') continue;
          this.remove(started[j] as Child);
          this.port.logger.error({ supervisor: this.id, child: step[j]?.id, reason: describeReason(o.reason) }, 'a persistent child could not be brought back; left out');
        }
      }
      this.status = 'running';
    });
  }

  onExit(listener: (reason: unknown) => void): void {
    this.exitListeners.push(listener);
  }

  // ---------------------------------------------------------------- children coming and going

  /** A simple_one_for_one supervisor whose template is persistent brings back the children it
   *  had (same ids, same args): each resumes from its snapshot. */
  private persistentChildren(): ChildSpec[] {
    const t = this.spec.flags.template;
    if (this.spec.flags.strategy !== 'simple_one_for_one' || t === undefined || isSupervisorSpec(t) || t.opts.persistent !== true) return [];
    return this.port.persistentChildren(this.id).map(({ id, args }) => {
      const n = Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
      if (id.startsWith(`${t.id}-`) && n > this.dynamicCount) this.dynamicCount = n;
      return { ...t, id, opts: { ...t.opts, args } } as WorkerSpec;
    });
  }

  private async startChildProcess(c: Child): Promise<void> {
    const spec = c.spec;
    if (isSupervisorSpec(spec)) {
      const sup = new Supervisor(spec, this.port);
      const instance: Instance = { kind: 'supervisor', sup };
      await sup.start();
      sup.onExit((reason) => this.childExited(c, instance, reason));
      this.markRunning(c, instance);
      return;
    }
    // The watch goes in before the spawn: a child may die before the spawn's answer is read.
    const { restart: _r, shutdown: _s, significant: _g, backoff: _b, ...spawnOpts } = spec.opts;
    // A persistent child records its supervisor, which brings it back after the process dies.
    if (spawnOpts.persistent === true) (spawnOpts as SpawnOptions).parent = this.id;
    const instance: { kind: 'worker'; ref: ActorRef } = { kind: 'worker', ref: null as unknown as ActorRef };
    c.instance = instance;
    c.status = 'running';
    c.unwatch = this.port.watch(spec.id, (reason) => this.childExited(c, instance, reason));
    try {
      instance.ref = await this.port.spawn(spec.machine, { ...spawnOpts, id: spec.id });
    } catch (err) {
      c.unwatch?.();
      c.unwatch = null;
      if (c.instance === instance) c.instance = null;
      c.status = 'terminated';
      throw err;
    }
    c.startedAt = this.port.now();
  }

  private markRunning(c: Child, instance: Instance): void {
    c.instance = instance;
    c.status = 'running';
    c.startedAt = this.port.now();
  }

  /** Stops one child as its spec says: graceful with a time limit, brutal kill, or wait for ever. */
  private async terminateChild(c: Child): Promise<void> {
    const instance = c.instance;
    c.unwatch?.();
    c.unwatch = null;
    c.instance = null;
    c.status = 'terminated';
    if (instance === null) return;
    if (instance.kind === 'supervisor') {
      await instance.sup.stop('shutdown');
      return;
    }
    const s = c.spec.shutdown;
    if (s === 'brutal_kill') await this.port.kill(c.spec.id, 'killed');
    else await this.port.stop(c.spec.id, 'shutdown', s === 'infinity' ? Infinity : s);
  }

  private childExited(c: Child, instance: Instance, reason: unknown): void {
    if (c.instance !== instance) return; // an old incarnation, or one we stopped ourselves
    c.unwatch?.();
    c.unwatch = null;
    c.instance = null;
    c.status = 'terminated';
    void this.serialize(() => this.handleExit(c, reason));
  }

  private async handleExit(c: Child, reason: unknown): Promise<void> {
    if (this.status !== 'running' || !this.has(c)) return;
    const spec = c.spec;
    const abnormal = !isNormalReason(reason);
    const restart = spec.restart === 'permanent' || (spec.restart === 'transient' && abnormal);
    if (abnormal) this.port.logger.error({ supervisor: this.id, child: spec.id, reason: describeReason(reason) }, 'child exited');
    if (!restart) {
      if (spec.restart === 'temporary' || this.spec.flags.strategy === 'simple_one_for_one') {
        this.remove(c);
        // Not restarted here, so not brought back after a restart of the process either.
        if (!isSupervisorSpec(spec) && spec.opts.persistent === true) this.port.forgetPersistent(spec.id);
      }
      if (spec.significant && this.autoShutdownDue()) await this.shutdownSelf('shutdown');
      return;
    }
    if (!this.allowRestart()) {
      this.port.logger.error({ supervisor: this.id, intensity: this.spec.flags.intensity, period: this.spec.flags.period }, 'restart intensity exceeded; shutting down');
      await this.shutdownSelf('shutdown');
      return;
    }
    const strategy = this.spec.flags.strategy;
    let group: Child[];
    if (strategy === 'one_for_all') group = [...this.children];
    else if (strategy === 'rest_for_one') group = this.children.slice(this.children.indexOf(c));
    else group = [c];
    // Siblings go down newest first; temporary ones are not coming back.
    for (const sib of [...group].reverse()) {
      if (sib === c) continue;
      if (sib.status === 'running') await this.terminateChild(sib);
      if (sib.spec.restart === 'temporary') this.remove(sib);
    }
    const restartGroup = async (): Promise<void> => {
      for (const member of group) {
        if (!this.has(member) || member.status === 'running') continue;
        if (!(await this.restartWithRetries(member, reason))) return;
      }
    };
    // With backoff, the restart waits outside the queue: the supervisor keeps serving meanwhile.
    const delay = backoffDelay(c, this.port.now());
    if (delay === 0 && strategy === 'simple_one_for_one') {
      // Dynamic children are independent: their restarts need not wait for each other, so a
      // shard's worth of them comes back in parallel rather than one round trip at a time.
      c.status = 'restarting';
      const restart = this.restartWithRetries(c, reason).finally(() => this.inFlight.delete(restart));
      this.inFlight.add(restart);
      return;
    }
    if (delay === 0) {
      await restartGroup();
      return;
    }
    for (const m of group) if (this.has(m)) m.status = 'restarting';
    this.port.logger.warn({ supervisor: this.id, child: spec.id, delayMs: delay }, 'restart delayed (backoff)');
    void this.port.sleep(delay).then(() =>
      this.serialize(async () => {
        if (this.status === 'running') await restartGroup();
      }),
    );
  }

  /** Restarts one child; a failed start counts as another restart (OTP retries until intensity runs out). */
  private async restartWithRetries(c: Child, reason: unknown): Promise<boolean> {
    for (;;) {
      c.restarts++;
      try {
        await this.startChildProcess(c);
        if (this.status !== 'running') {
          await this.terminateChild(c); // the supervisor stopped while this restart was under way
          return false;
        }
        this.port.report('restart', { supervisor: this.id, id: c.spec.id, reason });
        return true;
      } catch (err) {
        c.status = 'terminated';
        this.port.logger.error({ supervisor: this.id, child: c.spec.id, err }, 'child failed to restart');
        if (!this.allowRestart()) {
          await this.shutdownSelf('shutdown');
          return false;
        }
      }
    }
  }

  /** Records a restart; false when that makes more than `intensity` within `period`. */
  private allowRestart(): boolean {
    const now = this.port.now();
    const { intensity, period } = this.spec.flags;
    const times = this.restartTimes;
    // As OTP: a restart counts while now - then =< period.
    for (let t = times.peek(); t !== undefined && now - t > period; t = times.peek()) times.shift();
    times.push(now);
    return times.size <= intensity;
  }

  private autoShutdownDue(): boolean {
    const mode = this.spec.flags.autoShutdown;
    if (mode === 'any_significant') return true;
    if (mode === 'all_significant') return !this.children.some((x) => x.spec.significant && x.status === 'running');
    return false;
  }

  private add(c: Child): void {
    this.children.push(c);
    this.byId.set(c.spec.id, c);
  }

  private has(c: Child): boolean {
    return this.byId.get(c.spec.id) === c;
  }

  private remove(c: Child): void {
    if (!this.has(c)) return;
    this.byId.delete(c.spec.id);
    const i = this.children.lastIndexOf(c);
    if (i >= 0) this.children.splice(i, 1);
  }

  private async terminateAll(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    const running = [...this.children].reverse().filter((c) => c.status === 'running' || c.status === 'restarting');
    if (this.spec.flags.strategy === 'simple_one_for_one') await Promise.all(running.map((c) => this.terminateChild(c)));
    else for (const c of running) await this.terminateChild(c);
  }

  private async shutdownSelf(reason: unknown): Promise<void> {
    if (this.status === 'stopped' || this.status === 'stopping') return;
    this.status = 'stopping';
    await this.terminateAll();
    this.status = 'stopped';
    this.port.report('supervisorDown', { supervisor: this.id, reason });
    for (const l of this.exitListeners) l(reason);
  }

  /** Stops every child (newest first), then the supervisor. */
  stop(reason: unknown = 'shutdown'): Promise<void> {
    return this.serialize(() => this.shutdownSelf(reason));
  }

  private serialize<T>(job: () => Promise<T>): Promise<T> {
    const run = this.work.then(job, job);
    this.work = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- the dynamic API

  startChild(specOrArgs: ChildSpec | unknown, opts: { id?: string } = {}): Promise<ActorRef | SupervisorRef> {
    return this.serialize(async () => {
      this.mustRun();
      let spec: ChildSpec;
      if (this.spec.flags.strategy === 'simple_one_for_one') {
        const t = this.spec.flags.template as WorkerSpec;
        if (opts.id !== undefined && (typeof opts.id !== 'string' || opts.id.length === 0)) throw new SupervisorError('bad_spec', `supervisor '${this.id}': startChild's id must be a non-empty string`);
        if (opts.id !== undefined && this.byId.has(opts.id)) throw new SupervisorError('already_started', `supervisor '${this.id}': child '${opts.id}' is already started`);
        spec = { ...t, id: opts.id ?? `${t.id}-${++this.dynamicCount}`, opts: { ...t.opts, args: specOrArgs } } as WorkerSpec;
      } else {
        if (typeof specOrArgs !== 'object' || specOrArgs === null || !('id' in specOrArgs)) throw new SupervisorError('bad_spec', `supervisor '${this.id}': startChild needs a child spec made by child() or supervisor()`);
        spec = specOrArgs as ChildSpec;
        const existing = this.byId.get(spec.id);
        if (existing !== undefined) {
          if (existing.status === 'running') throw new SupervisorError('already_started', `supervisor '${this.id}': child '${spec.id}' is already started`);
          throw new SupervisorError('already_present', `supervisor '${this.id}': child '${spec.id}' is already present (terminated); use restartChild or deleteChild`);
        }
      }
      const c: Child = { spec, instance: null, status: 'terminated', unwatch: null, restarts: 0, startedAt: 0 };
      await this.startChildProcess(c);
      this.add(c);
      return refOf(c) as ActorRef | SupervisorRef;
    });
  }

  terminateChildById(id: string): Promise<void> {
    return this.serialize(async () => {
      const c = this.find(id);
      await this.terminateChild(c);
      if (c.spec.restart === 'temporary' || this.spec.flags.strategy === 'simple_one_for_one') {
        this.remove(c);
        // A dynamic child terminated through the API is gone for good: it must not come back.
        if (!isSupervisorSpec(c.spec) && c.spec.opts.persistent === true) this.port.forgetPersistent(c.spec.id);
      }
    });
  }

  restartChild(id: string): Promise<ActorRef | SupervisorRef> {
    return this.serialize(async () => {
      this.mustRun();
      this.notSimple('restartChild');
      const c = this.find(id);
      if (c.status === 'running') throw new SupervisorError('running', `supervisor '${this.id}': child '${id}' is running`);
      if (c.status === 'restarting') throw new SupervisorError('restarting', `supervisor '${this.id}': child '${id}' is restarting`);
      await this.startChildProcess(c);
      return refOf(c) as ActorRef | SupervisorRef;
    });
  }

  deleteChild(id: string): Promise<void> {
    return this.serialize(async () => {
      this.notSimple('deleteChild');
      const c = this.find(id);
      if (c.status === 'running') throw new SupervisorError('running', `supervisor '${this.id}': child '${id}' is running; terminate it first`);
      if (c.status === 'restarting') throw new SupervisorError('restarting', `supervisor '${this.id}': child '${id}' is restarting`);
      this.remove(c);
    });
  }

  whichChildren(): ChildInfo[] {
    return this.children.map((c) => ({ id: c.spec.id, ref: refOf(c), type: isSupervisorSpec(c.spec) ? 'supervisor' : 'worker', restart: c.spec.restart, status: c.status }));
  }

  countChildren(): ChildCounts {
    const active = this.children.filter((c) => c.status === 'running').length;
    const supervisors = this.children.filter((c) => isSupervisorSpec(c.spec)).length;
    return { specs: this.children.length, active, supervisors, workers: this.children.length - supervisors };
  }

  private find(id: string): Child {
    const c = this.byId.get(id);
    if (c === undefined) throw new SupervisorError('not_found', `supervisor '${this.id}' has no child '${id}'`);
    return c;
  }

  private notSimple(what: string): void {
    if (this.spec.flags.strategy === 'simple_one_for_one') throw new SupervisorError('simple_one_for_one', `supervisor '${this.id}': ${what} is not allowed on a simple_one_for_one supervisor`);
  }

  private mustRun(): void {
    if (this.status !== 'running') throw new SupervisorError('not_running', `supervisor '${this.id}' is not running`);
  }
}

function refOf(c: Child): ActorRef | SupervisorRef | undefined {
  const i = c.instance;
  if (i === null) return undefined;
  return i.kind === 'worker' ? i.ref : i.sup.ref;
}

/** Exponential, jittered, capped; reset after a long enough healthy run. 0 without backoff. */
function backoffDelay(c: Child, now: number): number {
  const b: Backoff | undefined = c.spec.backoff;
  if (b === undefined) return 0;
  const resetAfter = b.resetAfter ?? b.max * 10;
  if (c.startedAt > 0 && now - c.startedAt >= resetAfter) c.restarts = 0;
  const raw = Math.min(b.max, b.initial * (b.factor ?? 2) ** c.restarts);
  const jitter = b.jitter ?? 0.2;
  return Math.max(0, Math.round(raw * (1 - jitter + Math.random() * 2 * jitter)));
}

/** The handle of a running supervisor: its id and the dynamic API. */
export class SupervisorRef {
  constructor(private readonly sup: Supervisor) {}

  get id(): string {
    return this.sup.id;
  }

  /** A child spec; for simple_one_for_one, the args for a new child from the template (and,
   *  optionally, its id: by default `<template id>-<n>`). */
  startChild(specOrArgs: ChildSpec | unknown, opts?: { id?: string }): Promise<ActorRef | SupervisorRef> {
    return this.sup.startChild(specOrArgs, opts);
  }

  terminateChild(id: string): Promise<void> {
    return this.sup.terminateChildById(id);
  }

  restartChild(id: string): Promise<ActorRef | SupervisorRef> {
    return this.sup.restartChild(id);
  }

  deleteChild(id: string): Promise<void> {
    return this.sup.deleteChild(id);
  }

  whichChildren(): ChildInfo[] {
    return this.sup.whichChildren();
  }

  countChildren(): ChildCounts {
    return this.sup.countChildren();
  }

  /** Stops the children, newest first, then the supervisor. */
  stop(reason: unknown = 'shutdown'): Promise<void> {
    return this.sup.stop(reason);
  }

  get running(): boolean {
    return this.sup.running;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }
}
