/**
 * Event kinds as small integers: the mailbox stores them in its ring buffer and the engine
 * switches on them. `kindName` maps them to the names handlers and `handleEvent` see.
 */
export const CALL = 0;
export const CAST = 1;
export const INFO = 2;
export const EVENT_TIMEOUT = 3;
export const STATE_TIMEOUT = 4;
export const GENERIC_TIMEOUT = 5;
export const INTERNAL = 6;
/** Not a user event: a request to stop, queued behind earlier messages like OTP's system message. */
export const STOP_REQUEST = 7;

export type EventKind = 'call' | 'cast' | 'info' | 'timeout' | 'state_timeout' | 'generic_timeout' | 'internal';

const NAMES: readonly EventKind[] = ['call', 'cast', 'info', 'timeout', 'state_timeout', 'generic_timeout', 'internal'];

export function kindName(kind: number): EventKind {
  return NAMES[kind] as EventKind;
}
