/**
 * A call waiting for its reply. It is the `from` handle a call handler receives, its own
 * timeout timer (an entry of the caller's timer heap), and a link in the callee's list of calls
 * it has taken but not answered, so that if the callee dies every such caller hears at once.
 * The outcome is kept, not only pushed into a promise: the async request API polls it.
 */
import { CallTimeoutError } from './errors.js';
import { ReplyHandle } from './reply-handle.js';
import type { Scheduler } from './scheduler.js';
import type { WaitGraph } from './wait-graph.js';

export type { From, CallHolder } from './reply-handle.js';

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

export class PendingCall extends ReplyHandle {
  private status = PENDING;
  private outcome: unknown = undefined;
  private resolveFn: ((v: unknown) => void) | null = null;
  private rejectFn: ((e: unknown) => void) | null = null;
  private promise: Promise<unknown> | null = null;
  private signal: AbortSignal | null = null;
  private abortListener: (() => void) | null = null;
  private listeners: ((call: PendingCall) => void)[] | null = null;
  /** Set by the cross-thread router: called once when the call settles (to forget it). */
  onFinish: ((call: PendingCall) => void) | null = null;
  /** The thread the call went to (-1: this one), so a dead shard's calls can fail at once. */
  targetThread = -1;
  /** Id of the call on the wire (0: a local call). */
  wireId = 0;
  /** The caller's wait-for edge, cleared when the call settles. */
  waitGraph: WaitGraph | null = null;
  waitCell = -1;
  waitCallee = -1;

  constructor(
    readonly target: string,
    readonly timeoutMs: number,
    private readonly scheduler: Scheduler,
    /** The calling actor's id, or null for a call from outside any actor. */
    readonly caller: string | null,
  ) {
    super();
    if (timeoutMs !== Infinity) scheduler.arm(this, scheduler.clock.now() + timeoutMs);
  }

  get settled(): boolean {
    return this.status !== PENDING;
  }

  /** The outcome so far: pending, a value, or an error. */
  check(): { status: 'pending' } | { status: 'ok'; value: unknown } | { status: 'error'; error: unknown } {
    if (this.status === FULFILLED) return { status: 'ok', value: this.outcome };
    if (this.status === REJECTED) return { status: 'error', error: this.outcome };
    return { status: 'pending' };
  }

  /** A promise of the reply (made on first use, so an unwatched request never rejects unhandled). */
  toPromise(): Promise<unknown> {
    if (this.promise === null) {
      if (this.status === FULFILLED) this.promise = Promise.resolve(this.outcome);
      else if (this.status === REJECTED) this.promise = Promise.reject(this.outcome);
      else
        this.promise = new Promise((resolve, reject) => {
          this.resolveFn = resolve;
          this.rejectFn = reject;
        });
    }
    return this.promise;
  }

  /** Aborting the signal rejects the call with the signal's reason. */
  watch(signal: AbortSignal): void {
    if (signal.aborted) {
      this.reject(signal.reason);
      return;
    }
    this.signal = signal;
    this.abortListener = () => this.reject(signal.reason);
    signal.addEventListener('abort', this.abortListener, { once: true });
  }

  /** Runs `listener` once the call is settled (at once if it already is). */
  onSettled(listener: (call: PendingCall) => void): void {
    if (this.status !== PENDING) listener(this);
    else (this.listeners ??= []).push(listener);
  }

  /** Delivers the reply. Returns false if the call was already settled (the reply is dropped). */
  resolve(value: unknown): boolean {
    if (this.status !== PENDING) return false;
    this.status = FULFILLED;
    this.outcome = value;
    this.finish();
    if (this.resolveFn !== null) this.resolveFn(value);
    return true;
  }

  reject(error: unknown): boolean {
    if (this.status !== PENDING) return false;
    this.status = REJECTED;
    this.outcome = error;
    this.finish();
    if (this.rejectFn !== null) this.rejectFn(error);
    return true;
  }

  /** The timeout. */
  fire(): void {
    this.reject(new CallTimeoutError(this.target, this.timeoutMs));
  }

  private finish(): void {
    if (this.index >= 0) this.scheduler.disarm(this);
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this.abortListener as () => void);
      this.signal = this.abortListener = null;
    }
    this.untake();
    if (this.waitGraph !== null) this.waitGraph.leave(this.waitCell, this.waitCallee);
    if (this.onFinish !== null) this.onFinish(this);
    const listeners = this.listeners;
    if (listeners !== null) {
      this.listeners = null;
      for (const l of listeners) l(this);
    }
  }
}
