/**
 * An actor's queues, and the order in which events are taken from them (gen_statem's order):
 *   1. inserted — events from `nextEvent` actions, and postponed events put back after a state
 *      change (gen_statem's internal queue);
 *   2. zero — timeouts armed with 0 ms, "in limbo between the internal queue and the mailbox";
 *   3. incoming — messages from other actors and fired timers, in arrival order.
 * Postponed events wait in their own queue until the next state change. Queues are allocated on
 * first use: an idle actor costs one small object.
 */
import { EventQueue } from './event-queue.js';

export class Mailbox {
  incoming: EventQueue | null = null;
  inserted: EventQueue | null = null;
  zero: EventQueue | null = null;
  postponed: EventQueue | null = null;

  /** The queue holding the next event to handle, or null when there is none. */
  nextQueue(): EventQueue | null {
    const inserted = this.inserted;
    if (inserted !== null && inserted.size > 0) return inserted;
    const zero = this.zero;
    if (zero !== null && zero.size > 0) return zero;
    const incoming = this.incoming;
    if (incoming !== null && incoming.size > 0) return incoming;
    return null;
  }

  hasEvents(): boolean {
    return this.nextQueue() !== null;
  }

  /** A message or fired timer arrives. Capacity is the sender's check, not this queue's. */
  deliver(kind: number, msg: unknown, aux: unknown): void {
    (this.incoming ??= new EventQueue()).push(kind, msg, aux);
  }

  postpone(kind: number, msg: unknown, aux: unknown): void {
    (this.postponed ??= new EventQueue()).push(kind, msg, aux);
  }

  /** After a state change: postponed events go back in front of everything queued, oldest first. */
  retryPostponed(): void {
    const postponed = this.postponed;
    if (postponed === null || postponed.size === 0) return;
    (this.inserted ??= new EventQueue()).prependAll(postponed);
  }

  /** Inserts events (kind/msg pairs, in order) ahead of everything queued. */
  insertFront(events: readonly unknown[]): void {
    const q = (this.inserted ??= new EventQueue());
    for (let i = events.length - 2; i >= 0; i -= 2) q.unshift(events[i] as number, events[i + 1], undefined);
  }

  /** Queues a zero-time timeout after inserted and postponed events, before incoming messages. */
  pushZero(kind: number, aux: unknown): void {
    (this.zero ??= new EventQueue()).push(kind, undefined, aux);
  }

  /** Visits every queued event (inserted, zero, incoming, postponed). */
  forEach(visit: (kind: number, msg: unknown, aux: unknown) => void): void {
    this.inserted?.forEach(visit);
    this.zero?.forEach(visit);
    this.incoming?.forEach(visit);
    this.postponed?.forEach(visit);
  }

  clear(): void {
    this.inserted = this.zero = this.incoming = this.postponed = null;
  }
}
