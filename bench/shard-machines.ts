/**
 * Machines for the shard scenarios. They live in their own module so worker threads can import
 * them (dist/bench/shard-machines.js). Timing is taken inside the workers, where the calls are
 * made, and sent back in replies.
 */
import { performance } from 'node:perf_hooks';
import { defineMachine, keep, keepAll, reply, type ActorRef } from 'threadstate';

/** Counts what it receives; `call('count')` answers the count. */
export const sink = defineMachine({
  name: 'bench_sink',
  init: () => ({ state: 'on', data: 0 }),
  states: {
    on: {
      cast: (_m, n: number) => keep(n + 1),
      call: (_m, n: number, from) => keepAll([reply(from, n)]),
    },
  },
});

/** `call({ to, count })`: casts `count` numbers to `to`, then answers. */
export const pump = defineMachine({
  name: 'bench_pump',
  init: () => ({ state: 'on', data: null }),
  states: {
    on: {
      call: (m: { to: ActorRef; count: number }, _d, from) => {
        for (let i = 0; i < m.count; i++) m.to.cast(i);
        return keepAll([reply(from, m.count)]);
      },
    },
  },
});

export interface CallReport {
  /** Per-call latency samples in µs (sequential mode) — one per call. */
  samples: number[];
  /** Total ms for all calls. */
  totalMs: number;
}

/**
 * `call({ to, count, window })`: calls `to` `count` times, `window` at a time (1: sequential,
 * one in flight), timing each call (sequential) or the whole run (pipelined).
 */
export const caller = defineMachine({
  name: 'bench_caller',
  init: () => ({ state: 'on', data: null }),
  states: {
    on: {
      call: async (m: { to: ActorRef; count: number; window: number }, _d, from, ctx) => {
        const samples: number[] = [];
        const t0 = performance.now();
        if (m.window <= 1) {
          for (let i = 0; i < m.count; i++) {
            const t = performance.now();
            await ctx.call(m.to, 'count', { timeout: 60_000 });
            samples.push((performance.now() - t) * 1000);
          }
        } else {
          for (let done = 0; done < m.count; done += m.window) {
            const batch: Promise<unknown>[] = [];
            for (let i = 0; i < m.window && done + i < m.count; i++) batch.push(ctx.call(m.to, 'count', { timeout: 60_000 }));
            await Promise.all(batch);
          }
        }
        const report: CallReport = { samples, totalMs: performance.now() - t0 };
        return keepAll([reply(from, report)]);
      },
    },
  },
});

/** CPU-bound work: each cast burns about `units` × 10 µs of CPU; `call` answers the work done. */
export const cruncher = defineMachine({
  name: 'bench_cruncher',
  init: () => ({ state: 'on', data: 0 }),
  states: {
    on: {
      cast: (units: number, done: number) => {
        let x = 0;
        for (let i = 0; i < units * 4000; i++) x = (x * 31 + i) % 1000003;
        return keep(done + units + (x < 0 ? 1 : 0));
      },
      call: (_m, done: number, from) => keepAll([reply(from, done)]),
    },
  },
});
