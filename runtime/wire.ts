/**
 * The wire between threads: msgpackr encoding of record batches, refs that travel inside
 * messages, typed errors that survive the crossing, and the send-site check that turns a value
 * msgpackr would silently mangle (a function, a class instance) into an EncodeError.
 */
import { addExtension, Packr } from 'msgpackr';
import {
  ActorCrashedError,
  ActorExistsError,
  CallingSelfError,
  CallTimeoutError,
  DeadlockError,
  EncodeError,
  InitError,
  InvalidArgumentError,
  InvalidMachineError,
  InvalidResultError,
  InvalidTransitionError,
  MachineLoadError,
  MailboxFullError,
  NoProcError,
  ShardStartError,
  SystemShutdownError,
  ThreadstateError,
  UnhandledEventError,
} from './errors.js';
import { ActorRef, SHARD_HINT, SLOT } from './ref.js';
import { JournalError, type JournalTrouble } from './journal-error.js';

// Record types. Every record is five slots in a flat batch: [type, a, b, c, d].
export const REC_CAST = 1; // to, kind, msg, -
export const REC_CALL = 2; // to, msg, callId, origin thread
export const REC_REPLY = 3; // callId, value, -, -
export const REC_REPLY_ERR = 4; // callId, error payload, -, -
export const REC_STOP = 5; // to, reason, callId, origin
export const REC_CONTROL = 6; // op, payload, callId, origin (a call to the thread itself)
export const REC_EVENT = 7; // name, payload, -, - (shard → main: system events)
export const REC_NOTE = 8; // op, a, b, - (one-way notes: placement, directory, shard down)
export const RECORD_SIZE = 5;

/** Builds the ref for an id arriving from another thread: set by the link decoding a batch, so
 *  each system (several may share a process) binds refs to its own router. */
let refFactory: ((id: string, shard: number, slot: number) => ActorRef) | null = null;

addExtension({
  Class: ActorRef,
  type: 0x54, // 'T'
  write: (ref: ActorRef) => [ref.id, ref[SHARD_HINT], ref[SLOT]],
  read: ([id, shard, slot]: [string, number, number]) => {
    if (refFactory === null) throw new EncodeError('an ActorRef arrived outside a batch decode');
    return refFactory(id, shard, slot);
  },
});

// Errors keep their class and fields (code, target, reason…) when sent as values, as they do
// when they reject a call.
addExtension({
  Class: Error,
  type: 0x45, // 'E'
  write: (err: Error) => errorToPayload(err),
  read: (payload: ErrorPayload) => payloadToError(payload),
});

const packr = new Packr({ structuredClone: true });

/** Encodes a batch into its own buffer (pack() returns a view on a shared one: copy before transfer). */
export function encodeBatch(records: unknown[]): Uint8Array {
  const view = packr.pack(records);
  return new Uint8Array(view); // copies exactly byteLength bytes
}

export function decodeBatch(bytes: Uint8Array, refs: (id: string, shard: number, slot: number) => ActorRef): unknown[] {
  refFactory = refs;
  try {
    return packr.unpack(bytes) as unknown[];
  } finally {
    refFactory = null;
  }
}

/** Encodes one value (a snapshot, receipt metadata) into bytes of its own, refs and errors included. */
export function encodeValue(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(value));
}

/** Decodes what encodeValue wrote; refs are made by `refs`. */
export function decodeValue(bytes: Uint8Array, refs: (id: string, shard: number, slot: number) => ActorRef): unknown {
  refFactory = refs;
  try {
    return packr.unpack(bytes) as unknown;
  } finally {
    refFactory = null;
  }
}

/**
 * Throws EncodeError, naming the path, if `value` holds something that cannot cross a thread
 * intact: functions, symbols, class instances (other than refs, dates, maps, sets, errors,
 * regexps and binary data). Cycles are fine.
 */
export function checkTransferable(value: unknown, what: string): void {
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint' || value === null || value === undefined) return;
  walk(value, what, new Set());
}

function walk(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return;
    case 'function':
      throw new EncodeError(`${path} is a function, which cannot be sent to another thread`);
    case 'symbol':
      throw new EncodeError(`${path} is a symbol, which cannot be sent to another thread`);
  }
  if (value === null || seen.has(value as object)) return;
  const obj = value as object;
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) walk(obj[i], `${path}[${i}]`, seen);
    return;
  }
  const proto = Object.getPrototypeOf(obj) as object | null;
  if (proto === Object.prototype || proto === null) {
    for (const key of Object.keys(obj)) walk((obj as Record<string, unknown>)[key], `${path}.${key}`, seen);
    return;
  }
  if (obj instanceof ActorRef || obj instanceof Date || obj instanceof RegExp || ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return;
  if (obj instanceof Map) {
    for (const [k, v] of obj) {
      walk(k, `${path}<key>`, seen);
      walk(v, `${path}.get(${String(k)})`, seen);
    }
    return;
  }
  if (obj instanceof Set) {
    for (const v of obj) walk(v, `${path}<member>`, seen);
    return;
  }
  if (obj instanceof Error) return;
  const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
  throw new EncodeError(`${path} is an instance of class ${name}; only plain objects, arrays, Map, Set, Date, errors, binary data and ActorRefs can be sent to another thread`);
}

// ---- errors across threads ----

export interface ErrorPayload {
  code: string;
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
}

const FIELDS = ['target', 'timeoutMs', 'cycle', 'actor', 'reason', 'capacity', 'machine', 'from', 'to', 'state', 'kind', 'detail', 'module', 'shard', 'sqlite'];

/** Turns any thrown value into something that crosses threads and comes back as the same class. */
export function errorToPayload(err: unknown): ErrorPayload {
  if (!(err instanceof Error)) return { code: 'thrown', name: 'Error', message: String(err), fields: { value: safeValue(err) } };
  const fields: Record<string, unknown> = {};
  for (const f of FIELDS) {
    if (f in err) fields[f] = f === 'reason' ? reasonToWire((err as unknown as Record<string, unknown>)[f]) : safeValue((err as unknown as Record<string, unknown>)[f]);
  }
  return { code: (err as { code?: string }).code ?? 'error', name: err.name, message: err.message, stack: err.stack, fields };
}

export function payloadToError(p: ErrorPayload): Error {
  const f = p.fields;
  let err: Error;
  switch (p.code) {
    case 'call_timeout':
      err = new CallTimeoutError(f.target as string, f.timeoutMs as number);
      break;
    case 'deadlock':
      err = new DeadlockError(f.cycle as string[]);
      break;
    case 'calling_self':
      err = new CallingSelfError(f.actor as string);
      break;
    case 'noproc':
      err = new NoProcError(f.target as string, f.detail as string);
      break;
    case 'actor_crashed':
      err = new ActorCrashedError(f.actor as string, reasonFromWire(f.reason));
      break;
    case 'mailbox_full':
      err = new MailboxFullError(f.actor as string, f.capacity as number);
      break;
    case 'invalid_transition':
      err = new InvalidTransitionError(f.machine as string, f.from, f.to);
      break;
    case 'unhandled_event':
      err = new UnhandledEventError(f.machine as string, f.state, f.kind as string);
      break;
    case 'actor_exists':
      err = new ActorExistsError(f.actor as string);
      break;
    case 'init_failed':
      err = new InitError(f.actor as string, reasonFromWire(f.reason));
      break;
    case 'machine_load':
      err = new MachineLoadError(f.module as string, f.detail as string);
      break;
    case 'shard_start':
      err = new ShardStartError(f.shard as number, f.detail as string);
      break;
    case 'journal':
      err = new JournalError(p.message, { sqlite: f.sqlite as string | null, reason: f.reason as JournalTrouble });
      break;
    default: {
      const Known: Record<string, new (m: string) => ThreadstateError> = {
        encode: EncodeError,
        invalid_result: InvalidResultError,
        invalid_machine: InvalidMachineError,
        invalid_argument: InvalidArgumentError,
      };
      const K = Known[p.code];
      const Builtin = BUILTIN[p.name];
      if (p.code === 'system_shutdown') err = Object.assign(new SystemShutdownError('operation'), { message: p.message });
      else if (K !== undefined) err = new K(p.message);
      else if (Builtin !== undefined && (p.code === 'error' || p.code === 'thrown')) err = new Builtin(p.message);
      else {
        err = new Error(p.message);
        err.name = p.name;
        if (p.code !== 'error' && p.code !== 'thrown') (err as { code?: string }).code = p.code;
      }
    }
  }
  err.message = p.message;
  if (p.stack !== undefined) err.stack = p.stack;
  return err;
}

const BUILTIN: Record<string, new (message: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** A stop reason: errors become payloads, other values pass if they can cross. */
export function reasonToWire(reason: unknown): unknown {
  if (reason instanceof Error) return { __error: errorToPayload(reason) };
  return safeValue(reason);
}

export function reasonFromWire(reason: unknown): unknown {
  if (typeof reason === 'object' && reason !== null && '__error' in reason) return payloadToError((reason as { __error: ErrorPayload }).__error);
  return reason;
}

function safeValue(value: unknown): unknown {
  try {
    checkTransferable(value, 'value');
    return value;
  } catch {
    return String(value);
  }
}
