/** threadstate — the public entry point. */
export { defineMachine, Machine } from '../actors/machine.js';
export type { MachineSpec, StateFunctionsSpec, HandleEventSpec, StateHandlers, MachineEvent, InitResult, HandlerReturn } from '../actors/machine.js';
export {
  next,
  keep,
  keepAll,
  repeat,
  stop,
  stopAndReply,
  reply,
  postpone,
  nextEvent,
  eventTimeout,
  stateTimeout,
  timeout,
  cancelTimeout,
  updateTimeout,
  receipt,
  Result,
  Action,
} from '../actors/results.js';
export type { TimeoutOptions, TimeoutRef, InsertableKind } from '../actors/results.js';
export type { EventKind } from '../actors/event-kinds.js';
export type { ActorContext } from '../actors/context.js';
export { createSystem, ActorSystem } from './system.js';
export type { SystemOptions, SystemClock } from './system.js';
export { ActorRef } from './ref.js';
export { JournalError, type JournalTrouble } from './journal-error.js';
export type { Receipt, JournalOptions } from './journal.js';
export { DEFAULT_DB } from './system.js';
export type { CallOptions } from './ref.js';
export { Request, RequestSet } from './request.js';
export type { RequestStatus, WaitOptions, Settled } from './request.js';
export type { From } from './pending-call.js';
export type { SpawnOptions, MailboxOptions, Durability } from './spawn-options.js';
export { supervisor, child, SupervisorError } from '../supervisor/spec.js';
export type { ChildSpec, WorkerSpec, SupervisorSpec, SupervisorFlags, ChildOptions, Restart, Shutdown, Strategy, AutoShutdown, Backoff, SupervisorErrorCode } from '../supervisor/spec.js';
export { SupervisorRef } from '../supervisor/supervisor.js';
export type { ChildInfo, ChildCounts } from '../supervisor/supervisor.js';
export type { RestartEvent, SupervisorDownEvent, DeadlockEvent, JournalErrorEvent } from './events.js';
export type { SystemEventMap, TransitionEvent, ReceiptEvent, StopEvent, CrashEvent, DeadLetterEvent } from './events.js';
export {
  ThreadstateError,
  CallTimeoutError,
  DeadlockError,
  CallingSelfError,
  NoProcError,
  ActorCrashedError,
  MailboxFullError,
  EncodeError,
  InvalidResultError,
  InvalidTransitionError,
  UnhandledEventError,
  InvalidMachineError,
  InvalidArgumentError,
  ActorExistsError,
  InitError,
  SystemShutdownError,
  MachineLoadError,
  ShardStartError,
} from './errors.js';
