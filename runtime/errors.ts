/**
 * The error taxonomy of threadstate. Every error the runtime raises is one of these classes,
 * `instanceof`-checkable and carrying a stable string `code` for logs and across threads.
 */
export abstract class ThreadstateError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A call got no reply within its timeout. A reply that arrives later is dropped. */
export class CallTimeoutError extends ThreadstateError {
  readonly code = 'call_timeout';
  constructor(readonly target: string, readonly timeoutMs: number) {
    super(`call to '${target}' got no reply within ${timeoutMs} ms`);
  }
}

/** The call would have closed a cycle of actors each waiting for the next. */
export class DeadlockError extends ThreadstateError {
  readonly code = 'deadlock';
  /** Actor ids in wait order: cycle[0] waits for cycle[1], …, the last waits for cycle[0]. */
  constructor(readonly cycle: readonly string[]) {
    super(`call would deadlock: ${[...cycle, cycle[0]].join(' -> ')}`);
  }
}

/** An actor called itself: it could never answer, since it takes no event until its handler returns. */
export class CallingSelfError extends ThreadstateError {
  readonly code = 'calling_self';
  constructor(readonly actor: string) {
    super(`actor '${actor}' called itself`);
  }
}

/** No such actor, or it has stopped. */
export class NoProcError extends ThreadstateError {
  readonly code = 'noproc';
  constructor(readonly target: string, readonly detail = 'no such actor') {
    super(`no process '${target}': ${detail}`);
  }
}

/** The actor crashed (or stopped with an abnormal reason) before it replied. */
export class ActorCrashedError extends ThreadstateError {
  readonly code = 'actor_crashed';
  constructor(readonly actor: string, readonly reason: unknown) {
    super(`actor '${actor}' crashed: ${describeReason(reason)}`, { cause: reason instanceof Error ? reason : undefined });
  }
}

/** The actor's mailbox is at its configured capacity. */
export class MailboxFullError extends ThreadstateError {
  readonly code = 'mailbox_full';
  constructor(readonly actor: string, readonly capacity: number) {
    super(`mailbox of '${actor}' is full (capacity ${capacity})`);
  }
}

/** A message cannot be carried to another thread (a function, a symbol, a class instance…). */
export class EncodeError extends ThreadstateError {
  readonly code = 'encode';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A handler returned something that is not a result built with next/keep/keepAll/repeat/stop. */
export class InvalidResultError extends ThreadstateError {
  readonly code = 'invalid_result';
}

/** A state change that the machine's `transitions` table does not allow. */
export class InvalidTransitionError extends ThreadstateError {
  readonly code = 'invalid_transition';
  constructor(readonly machine: string, readonly from: unknown, readonly to: unknown) {
    super(`machine '${machine}' may not go from ${JSON.stringify(from)} to ${JSON.stringify(to)}`);
  }
}

/** The event has no handler in the current state (gen_statem would crash with function_clause). */
export class UnhandledEventError extends ThreadstateError {
  readonly code = 'unhandled_event';
  constructor(readonly machine: string, readonly state: unknown, readonly kind: string) {
    super(`machine '${machine}' has no '${kind}' handler in state ${JSON.stringify(state)}`);
  }
}

/** `spawn` was given something that is not a machine built by `defineMachine`, or a spec is malformed. */
export class InvalidMachineError extends ThreadstateError {
  readonly code = 'invalid_machine';
}

/** An argument at a call site is out of its domain (a negative timeout, a cast of undefined…). */
export class InvalidArgumentError extends ThreadstateError {
  readonly code = 'invalid_argument';
}

/** `spawn` with an id that a live actor already has. */
export class ActorExistsError extends ThreadstateError {
  readonly code = 'actor_exists';
  constructor(readonly actor: string) {
    super(`an actor with id '${actor}' already exists`);
  }
}

/** The machine's `init` threw, rejected or returned something that is not `{ state, data }`. */
export class InitError extends ThreadstateError {
  readonly code = 'init_failed';
  constructor(readonly actor: string, readonly reason: unknown) {
    super(`init of '${actor}' failed: ${describeReason(reason)}`, { cause: reason });
  }
}

/** The system has been shut down: nothing can be spawned, called or cast any more. */
export class SystemShutdownError extends ThreadstateError {
  readonly code = 'system_shutdown';
  constructor(what: string) {
    super(`${what}: the actor system is shut down`);
  }
}

/** A worker thread could not import the module that defines a machine. */
export class MachineLoadError extends ThreadstateError {
  readonly code = 'machine_load';
  constructor(readonly module: string, readonly detail: string) {
    super(`a worker could not load machine module ${module}: ${detail}`);
  }
}

/** A shard thread did not start (it failed or did not report ready in time). */
export class ShardStartError extends ThreadstateError {
  readonly code = 'shard_start';
  constructor(readonly shard: number, readonly detail: string) {
    super(`shard ${shard} did not start: ${detail}`);
  }
}

/** Renders a stop reason (an Error, a string, any value) for a message. */
export function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === 'string') return reason;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}
