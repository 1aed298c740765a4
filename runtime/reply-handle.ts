/**
 * A reply owed to a caller: either a local PendingCall or a call that came from another thread.
 * An actor that takes a call links its handle into its list of unanswered calls, so that when it
 * dies every caller still waiting hears at once instead of at its timeout.
 */
import { TimerEntry } from './timer-heap.js';

declare const FROM_BRAND: unique symbol;
/** The opaque reply handle of a call: pass it to `reply(from, value)`, now or in a later event. */
export interface From {
  readonly [FROM_BRAND]: true;
}

/** Whoever holds taken-but-unanswered calls (an actor). */
export interface CallHolder {
  takenCalls: ReplyHandle | null;
}

export abstract class ReplyHandle extends TimerEntry {
  holder: CallHolder | null = null;
  prevTaken: ReplyHandle | null = null;
  nextTaken: ReplyHandle | null = null;

  abstract get settled(): boolean;
  /** Delivers the reply; false if the call was already settled (the reply is then dropped). */
  abstract resolve(value: unknown): boolean;
  abstract reject(error: unknown): boolean;

  /** Records that `holder` has taken this call and owes it a reply. */
  takenBy(holder: CallHolder): void {
    if (this.holder === holder || this.settled) return;
    this.holder = holder;
    this.nextTaken = holder.takenCalls;
    if (holder.takenCalls !== null) holder.takenCalls.prevTaken = this;
    holder.takenCalls = this;
  }

  /** The holder no longer owes this reply (someone else, the journal, will deliver it). */
  release(): void {
    this.untake();
  }

  protected untake(): void {
    const holder = this.holder;
    if (holder === null) return;
    if (this.prevTaken !== null) this.prevTaken.nextTaken = this.nextTaken;
    else holder.takenCalls = this.nextTaken;
    if (this.nextTaken !== null) this.nextTaken.prevTaken = this.prevTaken;
    this.holder = this.prevTaken = this.nextTaken = null;
  }
}
