/**
 * Machines for the journal scenarios (bench/journal.ts). They live in a module of their own so
 * worker threads can import them (dist/bench/journal-machines.js). Latency is taken inside the
 * driver, on the thread where the calls are made, and sent back in its reply.
 */
import { performance } from 'node:perf_hooks';
import { defineMachine, keepAll, next, reply } from 'threadstate';

/** The call that flips (any message but GET does). Constant: the bench measures the journal,
 *  not the allocation of messages. */
export const FLIP = 'flip';
/** The call that answers `[state, data]` without a transition (no receipt). */
export const GET = 'get';

/**
 * 'a' ⇄ 'b' on every call but GET: each such call is one transition, hence one receipt (and, for
 * a persistent actor, one snapshot). Data counts the flips; the reply is the new count.
 */
export const flip = defineMachine({
  name: 'bench_flip',
  init: () => ({ state: 'a', data: 0 }),
  states: {
    a: {
      call: (m: string, n: number, from) => (m === GET ? keepAll([reply(from, ['a', n])]) : next('b', n + 1, [reply(from, n + 1)])),
    },
    b: {
      call: (m: string, n: number, from) => (m === GET ? keepAll([reply(from, ['b', n])]) : next('a', n + 1, [reply(from, n + 1)])),
    },
  },
});

export interface DriveOrder {
  /** Ids of the actors to call, round robin. */
  ids: string[];
  /** Calls to make in all. */
  count: number;
  /** Calls kept in flight: `window` lanes, each calling again as soon as its reply is in. */
  window: number;
}

export interface DriveReport {
  /** Milliseconds from the first call to the last reply. */
  totalMs: number;
  /** Per-call latency, ms, one per call (in the order the calls were started). */
  latencies: Float64Array;
}

/**
 * `call(DriveOrder)`: flips the given actors `count` times with `window` calls in flight, timing
 * each call. The driver itself never changes state, so it writes no receipt while it drives.
 */
export const driver = defineMachine({
  name: 'bench_journal_driver',
  init: () => ({ state: 'on', data: null }),
  states: {
    on: {
      call: async (m: DriveOrder, _d, from, ctx) => {
        const { ids, count } = m;
        const latencies = new Float64Array(count);
        let started = 0;
        const lane = async (): Promise<void> => {
          for (let i = started++; i < count; i = started++) {
            const t = performance.now();
            await ctx.call(ids[i % ids.length] as string, FLIP, { timeout: 120_000 });
            latencies[i] = performance.now() - t;
          }
        };
        const t0 = performance.now();
        const lanes: Promise<void>[] = [];
        for (let k = 0; k < m.window; k++) lanes.push(lane());
        await Promise.all(lanes);
        const report: DriveReport = { totalMs: performance.now() - t0, latencies };
        return keepAll([reply(from, report)]);
      },
    },
  },
});
