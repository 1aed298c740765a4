/**
 * The scheduler of one thread: a run queue of actors that have events, drained in slices
 * (like Erlang's reductions) so that one busy actor cannot starve the others, and a timer heap
 * behind one host timer. Draining starts in a microtask, so a send followed by `await` is
 * handled within the same turn; after a budget of events it yields with `setImmediate` so I/O
 * and other timers get their turn.
 */
import { Clock, VirtualClock } from './clock.js';
import { Deque } from './deque.js';
import { TimerEntry, TimerHeap } from './timer-heap.js';

export interface Runnable {
  /** Set while the runnable sits in the run queue. */
  queued: boolean;
  /** Handles up to `budget` events; returns how many it handled. */
  run(budget: number): number;
  /** Whether it has events it could handle now. */
  runnable(): boolean;
}

/** Events one actor may handle before the scheduler moves on to the next. */
const SLICE = 256;
/** Events one drain may handle before yielding to the event loop. */
const TURN_BUDGET = 32_768;
/** Node's setTimeout limit. */
const MAX_HOST_DELAY = 0x7fffffff;

export class Scheduler {
  readonly timers = new TimerHeap();
  private readonly runQueue = new Deque<Runnable>();
  private drainPending = false;
  private hostTimer: NodeJS.Timeout | null = null;
  private hostDeadline = Infinity;
  private closed = false;

  constructor(readonly clock: Clock, private readonly onError: (err: unknown) => void) {}

  /** Puts an actor that has work on the run queue (once). */
  enqueue(r: Runnable): void {
    if (r.queued || this.closed) return;
    r.queued = true;
    this.runQueue.push(r);
    if (!this.drainPending) {
      this.drainPending = true;
      queueMicrotask(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.drainPending = false;
    let budget = TURN_BUDGET;
    const q = this.runQueue;
    while (budget > 0 && q.size > 0) {
      const r = q.shift() as Runnable;
      r.queued = false;
      try {
        budget -= r.run(budget < SLICE ? budget : SLICE);
      } catch (err) {
        this.onError(err); // the engine catches handler errors; this is a runtime bug guard
      }
      if (!r.queued && r.runnable()) {
        r.queued = true;
        q.push(r);
      }
    }
    if (q.size > 0 && !this.drainPending) {
      this.drainPending = true;
      setImmediate(this.drain);
    }
  };

  /** Whether anything is waiting to run. */
  get idle(): boolean {
    return this.runQueue.size === 0 && !this.drainPending;
  }

  // ---- timers ----

  /** Arms `entry` to fire at `deadline` (scheduler clock ms, rounded up to an integer). */
  arm(entry: TimerEntry, deadline: number): void {
    this.timers.insert(entry, Math.ceil(deadline));
    if (entry.deadline < this.hostDeadline && this.clock.kind === 'real' && !this.closed) this.armHost(entry.deadline);
  }

  disarm(entry: TimerEntry): void {
    if (entry.index >= 0) this.timers.remove(entry);
  }

  /** Re-arms the host timer for an earlier deadline. A later one is left armed: when it fires it
   *  re-arms for whatever is then earliest, so cancelled entries never cost a clearTimeout. */
  private armHost(deadline: number): void {
    if (this.hostTimer !== null) clearTimeout(this.hostTimer);
    this.hostDeadline = deadline;
    const delay = Math.min(Math.max(0, deadline - this.clock.now()), MAX_HOST_DELAY);
    this.hostTimer = setTimeout(this.onHostTimer, delay);
  }

  private readonly onHostTimer = (): void => {
    this.hostTimer = null;
    this.hostDeadline = Infinity;
    this.fireDue(this.clock.now());
    const top = this.timers.peek();
    if (top !== undefined && !this.closed) this.armHost(top.deadline);
  };

  /** Fires every entry whose deadline is at or before `now`, earliest first. */
  fireDue(now: number): number {
    let fired = 0;
    for (;;) {
      const top = this.timers.peek();
      if (top === undefined || top.deadline > now) return fired;
      this.timers.remove(top);
      fired++;
      try {
        top.fire();
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /**
   * Virtual time: moves the clock forward by `ms`, firing due timers one deadline at a time and
   * letting the actors run between them, so that a timeout armed by a timeout handler fires at
   * its own virtual time within the same advance.
   */
  async advance(ms: number): Promise<void> {
    const clock = this.clock;
    if (!(clock instanceof VirtualClock)) throw new Error('advance needs clock: "virtual"');
    const target = clock.now() + ms;
    await this.settle();
    for (;;) {
      const top = this.timers.peek();
      if (top === undefined || top.deadline > target) break;
      clock.setNow(top.deadline);
      this.fireDue(top.deadline);
      await this.settle();
    }
    clock.setNow(target);
    await this.settle();
  }

  /** Lets queued work and promise chains run until the run queue stays empty. */
  async settle(maxTurns = 64): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < maxTurns && quiet < 2; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      quiet = this.idle ? quiet + 1 : 0;
    }
  }

  /** Stops the host timer and refuses new work; the process can exit. */
  close(): void {
    this.closed = true;
    if (this.hostTimer !== null) clearTimeout(this.hostTimer);
    this.hostTimer = null;
    this.hostDeadline = Infinity;
    this.timers.clear();
  }
}
