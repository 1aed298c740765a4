/**
 * Results and actions: the values a handler returns to tell the engine what to do next.
 * They are instances of two small classes with a fixed shape, so the engine's checks stay
 * monomorphic; a brand symbol (shared across copies of this module) recognises them.
 */
import { InvalidArgumentError } from '../runtime/errors.js';
import type { From } from '../runtime/pending-call.js';
import { CAST, INFO, INTERNAL } from './event-kinds.js';

const RESULT_BRAND = Symbol.for('threadstate.result');
const ACTION_BRAND = Symbol.for('threadstate.action');

// Result types.
export const R_NEXT = 0;
export const R_KEEP = 1; // keep state, new data
export const R_KEEP_ALL = 2; // keep state and data
export const R_REPEAT = 3; // repeat state, new data
export const R_REPEAT_ALL = 4; // repeat state and data
export const R_STOP = 5;
export const R_STOP_AND_REPLY = 6;

export class Result {
  declare readonly [RESULT_BRAND]: true;
  constructor(
    readonly type: number,
    readonly state: unknown,
    readonly data: unknown,
    readonly actions: readonly Action[] | null,
    /** The stop reason (stop results only). */
    readonly reason: unknown,
    /** Whether a stop result carries new data. */
    readonly hasData: boolean,
  ) {}
}
Object.defineProperty(Result.prototype, RESULT_BRAND, { value: true });

// Action types.
export const A_REPLY = 0;
export const A_POSTPONE = 1;
export const A_NEXT_EVENT = 2;
export const A_EVENT_TIMEOUT = 3;
export const A_STATE_TIMEOUT = 4;
export const A_GENERIC_TIMEOUT = 5;
export const A_CANCEL_TIMEOUT = 6;
export const A_UPDATE_TIMEOUT = 7;
export const A_RECEIPT = 8;

export class Action {
  declare readonly [ACTION_BRAND]: true;
  constructor(
    readonly type: number,
    readonly a: unknown,
    readonly b: unknown,
    readonly c: unknown,
    readonly d: unknown,
  ) {}
}
Object.defineProperty(Action.prototype, ACTION_BRAND, { value: true });

export function isResult(value: unknown): value is Result {
  return value instanceof Result || (typeof value === 'object' && value !== null && (value as Result)[RESULT_BRAND] === true);
}

export function isAction(value: unknown): value is Action {
  return value instanceof Action || (typeof value === 'object' && value !== null && (value as Action)[ACTION_BRAND] === true);
}

function actionList(actions: readonly Action[] | undefined, where: string): readonly Action[] | null {
  if (actions === undefined || actions === null) return null;
  if (!Array.isArray(actions)) throw new InvalidArgumentError(`${where}: actions must be an array`);
  return actions.length === 0 ? null : actions;
}

const KEEP_ALL = new Result(R_KEEP_ALL, undefined, undefined, null, undefined, false);
const REPEAT_ALL = new Result(R_REPEAT_ALL, undefined, undefined, null, undefined, false);

/** Go to `state` with `data`. Going to the current state is the same as `keep`. */
export function next(state: unknown, data: unknown, actions?: readonly Action[]): Result {
  return new Result(R_NEXT, state, data, actionList(actions, 'next'), undefined, true);
}

/** Stay in the current state with new data. */
export function keep(data: unknown, actions?: readonly Action[]): Result {
  return new Result(R_KEEP, undefined, data, actionList(actions, 'keep'), undefined, true);
}

/** Stay in the current state, data unchanged. */
export function keepAll(actions?: readonly Action[]): Result {
  const list = actionList(actions, 'keepAll');
  return list === null ? KEEP_ALL : new Result(R_KEEP_ALL, undefined, undefined, list, undefined, false);
}

/** Stay in the current state but run its enter call again (gen_statem's repeat_state). */
export function repeat(...args: [data?: unknown, actions?: readonly Action[]]): Result {
  if (args.length === 0) return REPEAT_ALL;
  return new Result(R_REPEAT, undefined, args[0], actionList(args[1], 'repeat'), undefined, true);
}

/** Stop the actor with `reason` ('normal' and 'shutdown' are clean stops; anything else is a crash). */
export function stop(reason: unknown = 'normal', ...rest: [data?: unknown]): Result {
  return new Result(R_STOP, undefined, rest[0], null, reason, rest.length > 0);
}

/** Send `replies` (reply actions), then stop with `reason`. */
export function stopAndReply(reason: unknown, replies: readonly Action[], ...rest: [data?: unknown]): Result {
  const list = actionList(replies, 'stopAndReply');
  for (const r of list ?? []) {
    if (!isAction(r) || r.type !== A_REPLY) throw new InvalidArgumentError('stopAndReply: replies must be reply(from, value) actions');
  }
  return new Result(R_STOP_AND_REPLY, undefined, rest[0], list, reason, rest.length > 0);
}

// ---- actions ----

/** Answer a call. Sent at once, in action order. */
export function reply(from: From, value: unknown): Action {
  if (typeof from !== 'object' || from === null) throw new InvalidArgumentError('reply: `from` must be the reply handle a call handler received');
  return new Action(A_REPLY, from, value, undefined, undefined);
}

const POSTPONE = new Action(A_POSTPONE, undefined, undefined, undefined, undefined);
/** Keep the current event for later: it is retried after the next state change. */
export function postpone(): Action {
  return POSTPONE;
}

export type InsertableKind = 'internal' | 'cast' | 'info';
const INSERTABLE: Record<InsertableKind, number> = { internal: INTERNAL, cast: CAST, info: INFO };

/** Insert an event to be handled before anything already queued. */
export function nextEvent(kind: InsertableKind, msg: unknown): Action {
  const k = INSERTABLE[kind];
  if (k === undefined) throw new InvalidArgumentError(`nextEvent: kind must be 'internal', 'cast' or 'info', not ${JSON.stringify(kind)}`);
  return new Action(A_NEXT_EVENT, k, msg, undefined, undefined);
}

export interface TimeoutOptions {
  /** An absolute deadline in epoch milliseconds, used instead of the delay. */
  at?: number;
}

function checkDelay(ms: unknown, opts: TimeoutOptions | undefined, where: string): number | undefined {
  if (opts !== undefined && opts !== null) {
    if (typeof opts !== 'object') throw new InvalidArgumentError(`${where}: options must be an object`);
    if (opts.at !== undefined) {
      if (typeof opts.at !== 'number' || !Number.isFinite(opts.at)) throw new InvalidArgumentError(`${where}: opts.at must be a finite epoch-ms number, got ${String(opts.at)}`);
      return opts.at;
    }
  }
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new InvalidArgumentError(`${where}: the time must be a number of milliseconds >= 0 (or Infinity), got ${String(ms)}`);
  }
  return undefined;
}

/** Event timeout: fires unless some event arrives first. `Infinity` means no timer. */
export function eventTimeout(ms: number, msg?: unknown, opts?: TimeoutOptions): Action {
  const at = checkDelay(ms, opts, 'eventTimeout');
  return new Action(A_EVENT_TIMEOUT, undefined, ms, msg, at);
}

/** State timeout: fires unless the state changes first. Re-arming restarts it. */
export function stateTimeout(ms: number, msg?: unknown, opts?: TimeoutOptions): Action {
  const at = checkDelay(ms, opts, 'stateTimeout');
  return new Action(A_STATE_TIMEOUT, undefined, ms, msg, at);
}

/** Named (generic) timeout: never cancelled implicitly. Re-arming the same name restarts it. */
export function timeout(name: string, ms: number, msg?: unknown, opts?: TimeoutOptions): Action {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('timeout: the name must be a non-empty string');
  if (name === 'timeout' || name === 'state_timeout') throw new InvalidArgumentError(`timeout: '${name}' is reserved for the ${name === 'timeout' ? 'event' : 'state'} timeout; use eventTimeout()/stateTimeout()`);
  const at = checkDelay(ms, opts, `timeout('${name}')`);
  return new Action(A_GENERIC_TIMEOUT, name, ms, msg, at);
}

/** Which timer an action addresses: 'timeout' (event), 'state_timeout', or a named timeout's name. */
export type TimeoutRef = 'timeout' | 'state_timeout' | (string & {});

function checkTimeoutRef(ref: unknown, where: string): string {
  if (typeof ref !== 'string' || ref.length === 0) throw new InvalidArgumentError(`${where}: give 'timeout', 'state_timeout' or a named timeout's name`);
  return ref;
}

/** Cancel a running timeout (and drop its event if it fired but was not handled yet). */
export function cancelTimeout(which: TimeoutRef): Action {
  return new Action(A_CANCEL_TIMEOUT, checkTimeoutRef(which, 'cancelTimeout'), undefined, undefined, undefined);
}

/** Change the message of a running timeout; if it is not running, it fires as a zero timeout with `msg`. */
export function updateTimeout(which: TimeoutRef, msg: unknown): Action {
  return new Action(A_UPDATE_TIMEOUT, checkTimeoutRef(which, 'updateTimeout'), msg, undefined, undefined);
}

/** Ask for an audit receipt for this event even if the state does not change. */
export function receipt(reason: string, meta?: Record<string, unknown>): Action {
  if (typeof reason !== 'string') throw new InvalidArgumentError('receipt: reason must be a string');
  return new Action(A_RECEIPT, reason, meta, undefined, undefined);
}
