/** The system's event surface: `system.on(name, listener)`. */
import type { JournalError } from './journal-error.js';
import type { SpawnOptions } from './spawn-options.js';

export type EventLabel = 'init' | 'call' | 'cast' | 'info' | 'timeout' | 'state_timeout' | 'generic_timeout' | 'internal';

export interface TransitionEvent {
  id: string;
  machine: string;
  /** The previous state (undefined for the initial state). */
  from: unknown;
  to: unknown;
  /** The kind of event that caused it ('init' for the first state). */
  event: EventLabel;
  /** The message's type: its `type` field, the string itself, or its JavaScript type. */
  type: string | null;
  /** Epoch ms, on the system's clock. */
  at: number;
}

export interface ReceiptEvent {
  id: string;
  machine: string;
  state: unknown;
  reason: string;
  meta: unknown;
  event: EventLabel;
  type: string | null;
  at: number;
}

export interface StopEvent {
  id: string;
  machine: string;
  reason: unknown;
  /** The state it was in when it stopped. */
  state: unknown;
}

/** An actor stopped abnormally. Carries what a supervisor needs to start it again. */
export interface CrashEvent extends StopEvent {
  spawnOptions: SpawnOptions;
}

export interface DeadLetterEvent {
  to: string;
  kind: 'cast' | 'info';
  msg: unknown;
  /** 'noproc' (no such actor), 'stopping', 'stopped' (left in its mailbox), 'mailbox_full'. */
  reason: string;
}

/** A supervisor restarted a child. */
export interface RestartEvent {
  supervisor: string;
  id: string;
  reason: unknown;
}

/** A supervisor stopped itself: restart intensity exceeded, or auto-shutdown. */
export interface SupervisorDownEvent {
  supervisor: string;
  reason: unknown;
}

/** A call was refused because it would have closed a cycle of actors waiting on each other. */
export interface DeadlockEvent {
  /** Actor ids in wait order: each waits for the next, the last for the first. */
  cycle: string[];
}

/** The journal could not commit rows: their actors crash, their callers get `error`. */
export interface JournalErrorEvent {
  error: JournalError;
  /** Ids of the actors whose rows failed. */
  actors: string[];
}

export interface SystemEventMap {
  journalError: [JournalErrorEvent];
  deadlock: [DeadlockEvent];
  restart: [RestartEvent];
  supervisorDown: [SupervisorDownEvent];
  transition: [TransitionEvent];
  receipt: [ReceiptEvent];
  crash: [CrashEvent];
  stop: [StopEvent];
  deadLetter: [DeadLetterEvent];
}
