/**
 * Child specs and supervisor specs, as OTP's supervisor defines them, checked when they are
 * built so that a malformed tree fails in the bootstrap code that wrote it.
 */
import { isMachine, type Machine } from '../actors/machine.js';
import { ThreadstateError } from '../runtime/errors.js';
import type { SpawnOptions } from '../runtime/spawn-options.js';

export type Restart = 'permanent' | 'transient' | 'temporary';
/** Milliseconds to wait for a graceful stop before killing, or kill at once, or wait for ever. */
export type Shutdown = number | 'brutal_kill' | 'infinity';
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

/** Beyond OTP: wait before restarting a child, exponentially longer each time, with jitter. */
export interface Backoff {
  /** First delay, ms. */
  initial: number;
  /** Largest delay, ms. */
  max: number;
  /** Growth per consecutive restart (default 2). */
  factor?: number;
  /** Fraction of the delay randomised, 0..1 (default 0.2). */
  jitter?: number;
  /** A child that ran this long (ms) without crashing starts again from `initial` (default 10 × max). */
  resetAfter?: number;
}

export interface ChildOptions<A = unknown> extends Omit<SpawnOptions<A>, 'id'> {
  restart?: Restart;
  shutdown?: Shutdown;
  /** With autoShutdown, a significant child's exit may stop the supervisor (transient/temporary only). */
  significant?: boolean;
  backoff?: Backoff;
}

export interface SupervisorFlags {
  strategy: Strategy;
  /** Most restarts allowed within `period` (default 1). */
  intensity?: number;
  /** Milliseconds (default 5000). */
  period?: number;
  autoShutdown?: AutoShutdown;
  /** simple_one_for_one only: the spec every dynamic child is started from. */
  template?: ChildSpec;
}

const SPEC = Symbol.for('threadstate.childspec');

export interface WorkerSpec {
  readonly [SPEC]: 'worker';
  readonly id: string;
  readonly machine: Machine;
  readonly opts: ChildOptions;
  readonly restart: Restart;
  readonly shutdown: Shutdown;
  readonly significant: boolean;
  readonly backoff: Backoff | undefined;
}

export interface SupervisorSpec {
  readonly [SPEC]: 'supervisor';
  readonly id: string;
  readonly flags: Required<Omit<SupervisorFlags, 'template'>> & { template: WorkerSpec | undefined };
  readonly children: readonly ChildSpec[];
  readonly restart: Restart;
  readonly shutdown: Shutdown;
  readonly significant: boolean;
  readonly backoff: Backoff | undefined;
}

export type ChildSpec = WorkerSpec | SupervisorSpec;

export type SupervisorErrorCode = 'bad_spec' | 'already_present' | 'already_started' | 'not_found' | 'running' | 'restarting' | 'simple_one_for_one' | 'start_failed' | 'not_running';

/** The supervisor's error cases (OTP's `{error, …}` returns), told apart by `code`. */
export class SupervisorError extends ThreadstateError {
  constructor(
    readonly code: SupervisorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isChildSpec(value: unknown): value is ChildSpec {
  return typeof value === 'object' && value !== null && SPEC in value;
}

export function isSupervisorSpec(value: unknown): value is SupervisorSpec {
  return isChildSpec(value) && value[SPEC] === 'supervisor';
}

const RESTARTS: readonly Restart[] = ['permanent', 'transient', 'temporary'];
const STRATEGIES: readonly Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const AUTO: readonly AutoShutdown[] = ['never', 'any_significant', 'all_significant'];

function bad(message: string): SupervisorError {
  return new SupervisorError('bad_spec', message);
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0) throw bad(`${what}: the id must be a non-empty string`);
  return id;
}

function checkCommon(id: string, restart: unknown, shutdown: unknown, significant: unknown, backoff: unknown): void {
  if (!RESTARTS.includes(restart as Restart)) throw bad(`child '${id}': restart must be 'permanent', 'transient' or 'temporary', not ${JSON.stringify(restart)}`);
  if (!(shutdown === 'brutal_kill' || shutdown === 'infinity' || (typeof shutdown === 'number' && Number.isFinite(shutdown) && shutdown >= 0))) {
    throw bad(`child '${id}': shutdown must be milliseconds >= 0, 'brutal_kill' or 'infinity', not ${JSON.stringify(shutdown)}`);
  }
  if (typeof significant !== 'boolean') throw bad(`child '${id}': significant must be a boolean`);
  if (significant && restart === 'permanent') throw bad(`child '${id}': a permanent child cannot be significant (OTP)`);
  if (backoff !== undefined) {
    const b = backoff as Backoff;
    const num = (v: unknown, min: number) => typeof v === 'number' && Number.isFinite(v) && v >= min;
    if (typeof b !== 'object' || b === null || !num(b.initial, 0) || !num(b.max, 0) || b.max < b.initial) throw bad(`child '${id}': backoff needs initial >= 0 and max >= initial (ms)`);
    if (b.factor !== undefined && !num(b.factor, 1)) throw bad(`child '${id}': backoff.factor must be >= 1`);
    if (b.jitter !== undefined && !(num(b.jitter, 0) && b.jitter <= 1)) throw bad(`child '${id}': backoff.jitter must be in 0..1`);
  }
}

/** A worker child: `id` is also its actor id, so `system.ref(id)` reaches it across restarts. */
export function child<A, D>(id: string, machine: Machine<A, D>, opts: ChildOptions<A> = {}): WorkerSpec {
  checkId(id, 'child');
  if (!isMachine(machine)) throw bad(`child '${id}': expected a machine made by defineMachine()`);
  if (typeof opts !== 'object' || opts === null) throw bad(`child '${id}': options must be an object`);
  const restart = opts.restart ?? 'permanent';
  const shutdown = opts.shutdown ?? 5000;
  const significant = opts.significant ?? false;
  checkCommon(id, restart, shutdown, significant, opts.backoff);
  return Object.freeze({ [SPEC]: 'worker' as const, id, machine: machine as Machine, opts: opts as ChildOptions, restart, shutdown, significant, backoff: opts.backoff });
}

/** A supervisor: as a child of another, it restarts permanently and is given unlimited time to stop. */
export function supervisor(id: string, flags: SupervisorFlags, children: readonly ChildSpec[] = [], opts: Pick<ChildOptions, 'restart' | 'shutdown' | 'significant'> = {}): SupervisorSpec {
  checkId(id, 'supervisor');
  if (typeof flags !== 'object' || flags === null) throw bad(`supervisor '${id}': flags must be an object`);
  if (!STRATEGIES.includes(flags.strategy)) throw bad(`supervisor '${id}': unknown strategy ${JSON.stringify(flags.strategy)} (one_for_one, one_for_all, rest_for_one, simple_one_for_one)`);
  const intensity = flags.intensity ?? 1;
  const period = flags.period ?? 5000;
  if (!Number.isInteger(intensity) || intensity < 0) throw bad(`supervisor '${id}': intensity must be an integer >= 0, not ${String(flags.intensity)}`);
  if (typeof period !== 'number' || !Number.isFinite(period) || period <= 0) throw bad(`supervisor '${id}': period must be milliseconds > 0, not ${String(flags.period)}`);
  const autoShutdown = flags.autoShutdown ?? 'never';
  if (!AUTO.includes(autoShutdown)) throw bad(`supervisor '${id}': autoShutdown must be 'never', 'any_significant' or 'all_significant'`);
  if (!Array.isArray(children)) throw bad(`supervisor '${id}': children must be an array of child specs`);
  const seen = new Set<string>();
  for (const c of children) {
    if (!isChildSpec(c)) throw bad(`supervisor '${id}': every child must be made by child() or supervisor()`);
    if (seen.has(c.id)) throw bad(`supervisor '${id}': duplicate child id '${c.id}'`);
    seen.add(c.id);
  }
  let template: WorkerSpec | undefined;
  if (flags.strategy === 'simple_one_for_one') {
    if (children.length > 0) throw bad(`supervisor '${id}': simple_one_for_one takes no static children; give a template`);
    if (!isChildSpec(flags.template) || isSupervisorSpec(flags.template)) throw bad(`supervisor '${id}': simple_one_for_one needs template: child(...)`);
    template = flags.template;
  } else if (flags.template !== undefined) throw bad(`supervisor '${id}': template is for simple_one_for_one only`);
  if (autoShutdown !== 'never' && flags.strategy === 'simple_one_for_one') throw bad(`supervisor '${id}': autoShutdown is not allowed with simple_one_for_one (OTP)`);
  const restart = opts.restart ?? 'permanent';
  const shutdown = opts.shutdown ?? 'infinity';
  const significant = opts.significant ?? false;
  checkCommon(id, restart, shutdown, significant, undefined);
  return Object.freeze({
    [SPEC]: 'supervisor' as const,
    id,
    flags: Object.freeze({ strategy: flags.strategy, intensity, period, autoShutdown, template }),
    children: Object.freeze([...children]),
    restart,
    shutdown,
    significant,
    backoff: undefined,
  });
}
