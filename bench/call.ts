/**
 * Scenario 2 — sequential awaited call round trip: `await ref.call(...)` in a loop, one call in
 * flight at a time. Baseline: XState has no call, so the same toggle behind PromiseMailbox, the
 * least a call needs (a queue, a promise per message, a handler run in a microtask).
 */
import type { ActorRef, CallOptions } from 'threadstate';
import { createActor } from 'xstate';
import { check, liveHeap, nowNs, perSecond, type Profiled, type Row, row, Samples, size, slots } from './harness.js';
import { PromiseMailbox } from './promise-mailbox.js';
import { benchSystem, GET, toggle } from './toggle.js';
import { xToggle } from './xstate-toggle.js';

const SCENARIO = '2. sequential call';
const CALLS = size(1_000_000, 200_000);
const WARMUP = size(200_000, 50_000);
/** Calls per timed batch: long enough that reading the clock costs nothing, short enough for
 *  the percentiles to see pauses (GC) hit individual batches. */
const BATCH = 100;
/** Calls put in flight at once, to weigh a pending call. */
const PENDING = size(100_000, 20_000);

/** Anything that answers `call(GET)` with a state name. */
type Caller = (msg: string) => Promise<string>;

interface Figures {
  meanUs: number;
  p50: number;
  p99: number;
  callsPerSec: number;
  pendingBytes: number;
}

async function loop(call: Caller, n: number, samples: Samples | null): Promise<number> {
  let total = 0;
  for (let b = 0; b < n / BATCH; b++) {
    const t0 = nowNs();
    for (let i = 0; i < BATCH; i++) {
      const state = await call(GET);
      if (state !== 'inactive') check(false, `call replied ${state}, expected inactive`);
    }
    const ns = nowNs() - t0;
    total += ns;
    samples?.add(ns / BATCH / 1e3);
  }
  return total;
}

async function measure(call: Caller): Promise<Figures> {
  await loop(call, WARMUP, null);
  const samples = new Samples();
  const total = await loop(call, CALLS, samples);
  const pending = slots<Promise<string>>(PENDING);
  const before = liveHeap();
  for (let i = 0; i < PENDING; i++) pending[i] = call(GET);
  const after = liveHeap(); // synchronous: none of them was handled yet
  await Promise.all(pending);
  return {
    meanUs: total / CALLS / 1e3,
    p50: samples.percentile(50),
    p99: samples.percentile(99),
    callsPerSec: perSecond(CALLS, total),
    pendingBytes: (after - before) / PENDING,
  };
}

function tsCaller(ref: ActorRef, opts?: CallOptions): Caller {
  return (msg) => ref.call<string>(msg, opts);
}

async function threadstate(opts?: CallOptions): Promise<Figures> {
  const system = await benchSystem();
  try {
    return await measure(tsCaller(await system.spawn(toggle), opts));
  } finally {
    await system.shutdown();
  }
}

async function baseline(): Promise<Figures> {
  const actor = createActor(xToggle).start();
  const mailbox = new PromiseMailbox<string, string>(() => actor.getSnapshot().value as string);
  const figures = await measure((msg) => mailbox.call(msg));
  actor.stop();
  return figures;
}

export async function run(): Promise<Row[]> {
  const ts = await threadstate();
  const noTimer = await threadstate({ timeout: Infinity });
  const xs = await baseline();
  const b = (v: number): Record<string, number> => ({ 'xstate+promise-mailbox': v });
  return [
    row(SCENARIO, `round trip, mean (${CALLS / 1e3}k calls)`, 'µs', ts.meanUs, b(xs.meanUs), { op: '<=', value: 1.0 }),
    row(SCENARIO, `p50 (batches of ${BATCH})`, 'µs', ts.p50, b(xs.p50)),
    row(SCENARIO, `p99 (batches of ${BATCH})`, 'µs', ts.p99, b(xs.p99)),
    row(SCENARIO, 'throughput', 'calls/s', ts.callsPerSec, b(xs.callsPerSec)),
    row(SCENARIO, 'round trip, mean, with { timeout: Infinity }', 'µs', noTimer.meanUs, b(xs.meanUs)),
    row(SCENARIO, `heap per pending call (${PENDING / 1e3}k in flight)`, 'B', ts.pendingBytes, b(xs.pendingBytes)),
  ];
}

/** For the CPU profile driver: the timed calls of the threadstate side. */
export async function profileWorkload(profiled: Profiled): Promise<void> {
  const system = await benchSystem();
  const call = tsCaller(await system.spawn(toggle));
  await loop(call, WARMUP, null);
  await profiled(async () => {
    await loop(call, CALLS, null);
  });
  await system.shutdown();
}
