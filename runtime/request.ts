/**
 * The async request API (gen_statem's send_request / wait_response / check_response and request
 * id collections): send calls now, collect their replies later, several at once.
 */
import { CallTimeoutError, InvalidArgumentError } from './errors.js';
import type { PendingCall } from './pending-call.js';
import type { Scheduler } from './scheduler.js';
import { TimerEntry } from './timer-heap.js';

export type RequestStatus<R> = { status: 'pending' } | { status: 'ok'; value: R } | { status: 'error'; error: unknown };

export interface WaitOptions {
  /** Give up waiting after this many ms (the request itself stays pending). */
  timeout?: number;
}

export class Request<R = unknown> {
  constructor(
    readonly target: string,
    /** @internal */ readonly pending: PendingCall,
    private readonly scheduler: Scheduler,
  ) {}

  /** Polls without waiting. */
  check(): RequestStatus<R> {
    return this.pending.check() as RequestStatus<R>;
  }

  get settled(): boolean {
    return this.pending.settled;
  }

  /** Awaits the reply. The request's own timeout (from sendRequest) always applies; `timeout`
   *  here only bounds this wait, and the request stays pending if it runs out. */
  wait(opts?: WaitOptions): Promise<R> {
    const reply = this.pending.toPromise() as Promise<R>;
    const ms = opts?.timeout;
    if (ms === undefined || ms === Infinity || this.pending.settled) return reply;
    try {
      checkWaitTimeout(ms);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<R>((resolve, reject) => {
      const timer = new WaitTimer(() => reject(new CallTimeoutError(this.target, ms)));
      this.scheduler.arm(timer, this.scheduler.clock.now() + ms);
      reply.then(
        (v) => {
          this.scheduler.disarm(timer);
          resolve(v);
        },
        (e: unknown) => {
          this.scheduler.disarm(timer);
          reject(e);
        },
      );
    });
  }
}

export interface Settled<L, R> {
  label: L;
  request: Request<R>;
  result: RequestStatus<R>;
}

/** A collection of requests, each with a label: take replies as they come. */
export class RequestSet<L = unknown, R = unknown> {
  private readonly entries = new Map<Request<R>, L>();

  add(request: Request<R>, label: L): this {
    this.entries.set(request, label);
    return this;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Returns (and removes) a settled request if there is one, without waiting. */
  checkAny(): Settled<L, R> | undefined {
    for (const [request, label] of this.entries) {
      if (request.settled) {
        this.entries.delete(request);
        return { label, request, result: request.check() };
      }
    }
    return undefined;
  }

  /** Waits for the first request to settle and removes it; undefined when the set is empty. */
  waitAny(): Promise<Settled<L, R> | undefined> {
    const ready = this.checkAny();
    if (ready !== undefined || this.entries.size === 0) return Promise.resolve(ready);
    return new Promise((resolve) => {
      let done = false;
      // Several waiters may race for one settled request: a waiter that finds none left keeps
      // waiting for the next settlement instead of answering undefined.
      const attempt = (): void => {
        if (done) return;
        const settled = this.checkAny();
        if (settled === undefined && this.entries.size > 0) return;
        done = true;
        resolve(settled);
      };
      for (const request of this.entries.keys()) request.pending.onSettled(attempt);
    });
  }

  /** Waits for every request; results in the order they were added. */
  async waitAll(): Promise<Settled<L, R>[]> {
    const all = [...this.entries];
    this.entries.clear();
    await Promise.all(all.map(([r]) => new Promise<void>((res) => r.pending.onSettled(() => res()))));
    return all.map(([request, label]) => ({ label, request, result: request.check() }));
  }
}

class WaitTimer extends TimerEntry {
  constructor(private readonly onFire: () => void) {
    super();
  }
  fire(): void {
    this.onFire();
  }
}

export function checkWaitTimeout(ms: unknown): asserts ms is number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms <= 0) throw new InvalidArgumentError(`timeout must be a number of milliseconds > 0 (or Infinity), got ${String(ms)}`);
}
