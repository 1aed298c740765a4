/**
 * Time, as the runtime sees it. Deadlines are integer milliseconds on a monotonic scale that
 * starts near 0 (so they stay small integers in V8); `wallNow` is epoch milliseconds, used to
 * turn `opts.at` deadlines into that scale and to stamp receipts.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  readonly kind: 'real' | 'virtual';
  /** Monotonic milliseconds since the clock was made. */
  now(): number;
  /** Epoch milliseconds. */
  wallNow(): number;
}

export class RealClock implements Clock {
  readonly kind = 'real';
  private readonly origin = performance.now();
  now(): number {
    return performance.now() - this.origin;
  }
  wallNow(): number {
    return Date.now();
  }
}

/**
 * A clock that moves only when told to. `advance` is supplied by the scheduler: it fires the
 * timers that fall due, in deadline order, letting actors react between them.
 */
export class VirtualClock implements Clock {
  readonly kind = 'virtual';
  private t = 0;
  constructor(private readonly epochOrigin = Date.now()) {}
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.epochOrigin + this.t;
  }
  /** Moves time forward (only the scheduler does this, through `advance`). */
  setNow(t: number): void {
    if (t > this.t) this.t = t;
  }
}
