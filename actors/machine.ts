/**
 * `defineMachine`: checks a machine spec once, up front, and compiles it into the form the
 * engine runs (a handler table per state), so that a bad spec fails where it is written.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidMachineError } from '../runtime/errors.js';
import type { From } from '../runtime/pending-call.js';
import type { ActorContext } from './context.js';
import type { EventKind } from './event-kinds.js';
import type { Action, Result } from './results.js';

export type HandlerReturn = Result | Promise<Result>;

/** What `init` returns: the first state, its data, and optional actions (no postpone). */
export interface InitResult<D> {
  state: unknown;
  data: D;
  actions?: readonly Action[];
}

/**
 * Handlers of one state (gen_statem's state functions). Declared as methods so that a handler may
 * annotate its message with the type it expects.
 */
export interface StateHandlers<D> {
  call?(msg: unknown, data: D, from: From, ctx: ActorContext): HandlerReturn;
  cast?(msg: unknown, data: D, ctx: ActorContext): HandlerReturn;
  info?(msg: unknown, data: D, ctx: ActorContext): HandlerReturn;
  /** The event timeout. */
  timeout?(msg: unknown, data: D, ctx: ActorContext): HandlerReturn;
  state_timeout?(msg: unknown, data: D, ctx: ActorContext): HandlerReturn;
  /** A named timeout; `ctx.event.name` says which. */
  generic_timeout?(msg: unknown, data: D, ctx: ActorContext): HandlerReturn;
  internal?(msg: unknown, data: D, ctx: ActorContext): HandlerReturn;
  /** The state-enter call, on every state change into this state and on `repeat`. */
  enter?(oldState: unknown, data: D, ctx: ActorContext): HandlerReturn;
}

/** The event a `handleEvent` machine receives. */
export interface MachineEvent {
  readonly kind: EventKind;
  readonly msg: unknown;
  /** The reply handle, for calls. */
  readonly from?: From;
  /** The timeout's name, for named timeouts. */
  readonly name?: string;
}

interface SpecBase<A, D> {
  /** The machine's name: in logs, events and receipts. Unique within its module. */
  name: string;
  /**
   * URL of the module that defines the machine, which worker threads import to run it. Found from
   * the call stack when omitted; pass `import.meta.url` if your build moves code around.
   */
  module?: string;
  init(args: A): InitResult<D> | Promise<InitResult<D>>;
  /** Runs when the actor stops, whatever the reason (a crash too); may be async. */
  terminate?(reason: unknown, state: unknown, data: D): void | Promise<void>;
  /**
   * Allowed state changes, `from → [to…]`, checked at run time. When given, it is the whole
   * diagram: a change it does not list (from a state it does not list, too) crashes the actor
   * with InvalidTransitionError.
   */
  transitions?: Record<string, readonly string[]>;
}

export interface StateFunctionsSpec<A, D> extends SpecBase<A, D> {
  states: Record<string, StateHandlers<D>>;
  handleEvent?: undefined;
}

export interface HandleEventSpec<A, D> extends SpecBase<A, D> {
  states?: undefined;
  handleEvent(event: MachineEvent, state: unknown, data: D, ctx: ActorContext): HandlerReturn;
  /** The state-enter call for handle-event machines. */
  enter?(oldState: unknown, state: unknown, data: D, ctx: ActorContext): HandlerReturn;
}

export type MachineSpec<A, D> = StateFunctionsSpec<A, D> | HandleEventSpec<A, D>;

type AnyHandler = (...args: never[]) => HandlerReturn;

/** The compiled handler table of one state, with every kind present (undefined when absent). */
export class StateTable {
  constructor(
    readonly name: string,
    readonly call: AnyHandler | undefined,
    readonly cast: AnyHandler | undefined,
    readonly info: AnyHandler | undefined,
    readonly timeout: AnyHandler | undefined,
    readonly state_timeout: AnyHandler | undefined,
    readonly generic_timeout: AnyHandler | undefined,
    readonly internal: AnyHandler | undefined,
    readonly enter: AnyHandler | undefined,
  ) {}
}

const HANDLER_KINDS = ['call', 'cast', 'info', 'timeout', 'state_timeout', 'generic_timeout', 'internal', 'enter'] as const;
const MACHINE_BRAND = Symbol.for('threadstate.machine');

/** A machine, ready to spawn. Opaque: build it with `defineMachine`. */
export class Machine<A = unknown, D = unknown> {
  declare readonly [MACHINE_BRAND]: true;
  /** Compiled per-state tables (state-functions machines only). */
  readonly tables: Map<string, StateTable> | null;
  readonly hasEnter: boolean;
  readonly allowed: Map<string, Set<string>> | null;

  constructor(
    readonly spec: MachineSpec<A, D>,
    /** URL of the defining module ('' when unknown: such a machine runs only on the main thread). */
    readonly module: string,
  ) {
    this.tables = null;
    this.hasEnter = false;
    this.allowed = null;
    if (spec.states !== undefined) {
      const tables = new Map<string, StateTable>();
      let hasEnter = false;
      for (const [state, handlers] of Object.entries(spec.states)) {
        if (typeof handlers !== 'object' || handlers === null) throw new InvalidMachineError(`machine '${spec.name}': state '${state}' must be an object of handlers`);
        for (const key of Object.keys(handlers)) {
          if (!(HANDLER_KINDS as readonly string[]).includes(key)) {
            throw new InvalidMachineError(`machine '${spec.name}': state '${state}' has an unknown handler '${key}' (known: ${HANDLER_KINDS.join(', ')})`);
          }
          if (typeof (handlers as Record<string, unknown>)[key] !== 'function') throw new InvalidMachineError(`machine '${spec.name}': handler '${state}.${key}' must be a function`);
        }
        const h = handlers as Record<string, AnyHandler | undefined>;
        if (h.enter) hasEnter = true;
        tables.set(state, new StateTable(state, h.call, h.cast, h.info, h.timeout, h.state_timeout, h.generic_timeout, h.internal, h.enter));
      }
      if (tables.size === 0) throw new InvalidMachineError(`machine '${spec.name}': 'states' must define at least one state`);
      this.tables = tables;
      this.hasEnter = hasEnter;
    } else {
      this.hasEnter = typeof spec.enter === 'function';
    }
    if (spec.transitions !== undefined) {
      const allowed = new Map<string, Set<string>>();
      for (const [from, tos] of Object.entries(spec.transitions)) {
        if (!Array.isArray(tos)) throw new InvalidMachineError(`machine '${spec.name}': transitions['${from}'] must be an array of states`);
        for (const s of [from, ...tos]) {
          if (this.tables && !this.tables.has(s)) throw new InvalidMachineError(`machine '${spec.name}': transitions name an unknown state '${s}'`);
        }
        allowed.set(from, new Set(tos));
      }
      this.allowed = allowed;
    }
    Object.freeze(this);
  }

  get name(): string {
    return this.spec.name;
  }

  /** How other threads name this machine: module URL and machine name. */
  get key(): string {
    return machineKey(this.module, this.spec.name);
  }
}
Object.defineProperty(Machine.prototype, MACHINE_BRAND, { value: true });

export function isMachine(value: unknown): value is Machine {
  return value instanceof Machine || (typeof value === 'object' && value !== null && (value as Machine)[MACHINE_BRAND] === true);
}

/** Defines a machine: per-state handlers (`states`) or one `handleEvent` function. */
export function defineMachine<A = void, D = unknown>(spec: StateFunctionsSpec<A, D>): Machine<A, D>;
export function defineMachine<A = void, D = unknown>(spec: HandleEventSpec<A, D>): Machine<A, D>;
export function defineMachine<A, D>(spec: MachineSpec<A, D>): Machine<A, D> {
  if (typeof spec !== 'object' || spec === null) throw new InvalidMachineError('defineMachine: expected a spec object');
  if (typeof spec.name !== 'string' || spec.name.length === 0) throw new InvalidMachineError('defineMachine: spec.name must be a non-empty string');
  if (typeof spec.init !== 'function') throw new InvalidMachineError(`machine '${spec.name}': spec.init must be a function`);
  const name = spec.name;
  const hasStates = spec.states !== undefined;
  const hasHandleEvent = spec.handleEvent !== undefined;
  if (hasStates === hasHandleEvent) throw new InvalidMachineError(`machine '${spec.name}': give either 'states' or 'handleEvent', exactly one`);
  if (hasHandleEvent && typeof spec.handleEvent !== 'function') throw new InvalidMachineError(`machine '${name}': handleEvent must be a function`);
  if (hasStates && (typeof spec.states !== 'object' || spec.states === null)) throw new InvalidMachineError(`machine '${name}': states must be an object`);
  if (spec.terminate !== undefined && typeof spec.terminate !== 'function') throw new InvalidMachineError(`machine '${spec.name}': terminate must be a function`);
  if (spec.module !== undefined && typeof spec.module !== 'string') throw new InvalidMachineError(`machine '${spec.name}': module must be a URL string (import.meta.url)`);
  const module = normalizeModule(spec.module ?? callerModule());
  const machine = new Machine(spec, module);
  const known = registry();
  // Two machines with one name in one module cannot be told apart by a worker: remember that,
  // and refuse only if one of them is spawned on a worker (see lookupMachine).
  known.set(machine.key, known.has(machine.key) && known.get(machine.key) !== machine ? AMBIGUOUS : (machine as Machine));
  return machine;
}

const AMBIGUOUS = Symbol('ambiguous');

/** The machine a worker should run for `key`, or an error saying why there is none. */
export function lookupMachine(key: string): Machine | InvalidMachineError {
  const found = registry().get(key);
  if (found === AMBIGUOUS) return new InvalidMachineError(`two machines share the key ${key}; names must be unique within a module`);
  if (found === undefined) return new InvalidMachineError(`no machine ${key} was defined when its module was imported`);
  return found;
}

/** The machines defined on this thread, by key. Shared by every copy of this module in the thread. */
function registry(): Map<string, Machine | typeof AMBIGUOUS> {
  const g = globalThis as { [REGISTRY]?: Map<string, Machine | typeof AMBIGUOUS> };
  return (g[REGISTRY] ??= new Map());
}
const REGISTRY = Symbol.for('threadstate.machines');

export function machineKey(module: string, name: string): string {
  return `${module}#${name}`;
}

/** The file that called defineMachine, from the V8 call stack. */
function callerModule(): string {
  const original = Error.prepareStackTrace;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.prepareStackTrace = (_err, callSites) => callSites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, defineMachine);
    sites = (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = original;
  }
  for (const site of sites) {
    const file = site.getFileName();
    if (file && !file.startsWith('node:')) return file;
  }
  return '';
}

/** File URLs without query strings; absolute paths become file URLs. */
function normalizeModule(where: string): string {
  if (where === '') return '';
  const url = isAbsolute(where) ? pathToFileURL(where).href : where;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
