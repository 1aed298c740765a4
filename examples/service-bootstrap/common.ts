/**
 * What the three governors share: time units (the seed's durations are minutes, hours and days;
 * the bootstrap compresses them so that a few seconds of run show whole escalation chains) and
 * the shape of their answers.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * What a governor answers to a command: whether it was accepted, and the state the governor is
 * in afterwards (the seed's `{ok, State}` / `{error, Reason}` replies). Plain data: it crosses
 * threads.
 */
export type Answer =
  | { ok: true; state: string; detail?: string; txId?: string }
  | { ok: false; state: string; error: string; detail?: string; cycle?: string[] };

export const accepted = (state: string, detail?: string, txId?: string): Answer => ({ ok: true, state, ...(detail !== undefined && { detail }), ...(txId !== undefined && { txId }) });
export const refused = (state: string, error: string, detail?: string): Answer => ({ ok: false, state, error, ...(detail !== undefined && { detail }) });

/** The name of an error, also for one that crossed a thread as a plain object. */
export function errorName(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string' ? (err as { name: string }).name : 'Error';
}
