/**
 * Scenario 4 — spawning: actors per second, and the heap an idle actor holds (live heap after a
 * full GC, before and after, divided by the count; the refs are kept so nothing is collected).
 * Baseline: XState `createActor(toggle).start()`. After a warm-up, each round spawns COUNT more
 * actors into the same system (a fresh system per round would make V8 re-tune its code at each
 * start); the rate is the median round's. The heap is weighed in a last, untimed round (a forced
 * GC right before timing would slow what is timed; see liveHeap).
 */
import type { ActorRef, ActorSystem } from 'threadstate';
import { type Actor as XActor, createActor } from 'xstate';
import { check, liveHeap, median, nowNs, perSecond, type Profiled, type Row, row, Samples, size, slots } from './harness.js';
import { benchSystem, spawnInto, toggle } from './toggle.js';
import { xToggle } from './xstate-toggle.js';

const SCENARIO = '4. spawn';
const COUNT = size(100_000, 50_000);
const ROUNDS = 3;
/** Spawns in flight at once (awaited with Promise.all), and the unit of the percentiles. */
const CHUNK = 1000;
/** Spawns for the one-at-a-time (`await system.spawn(...)` in a loop) variant. */
const SEQUENTIAL = size(100_000, 20_000);
const WARMUP = size(20_000, 5_000);

interface Figures {
  perSec: number;
  p50: number;
  p99: number;
  bytesPerActor: number;
}

/** Spawns COUNT actors by `spawnChunk(from, to)`, chunk by chunk; returns the total nanoseconds. */
async function round(samples: Samples | null, spawnChunk: (from: number, to: number) => Promise<void> | void): Promise<number> {
  let total = 0;
  for (let from = 0; from < COUNT; from += CHUNK) {
    const to = Math.min(COUNT, from + CHUNK);
    const t0 = nowNs();
    await spawnChunk(from, to);
    const ns = nowNs() - t0;
    total += ns;
    samples?.add(ns / 1e3);
  }
  return total;
}

/** ROUNDS timed rounds of `spawnChunk(round, from, to)`. */
async function timeRounds(spawnChunk: (round: number, from: number, to: number) => Promise<void> | void): Promise<Omit<Figures, 'bytesPerActor'>> {
  const rates: number[] = [];
  const samples = new Samples();
  for (let r = 0; r < ROUNDS; r++) rates.push(perSecond(COUNT, await round(samples, (from, to) => spawnChunk(r, from, to))));
  return { perSec: median(rates), p50: samples.percentile(50), p99: samples.percentile(99) };
}

/** One more round (round number ROUNDS), untimed, weighed: heap bytes per actor it keeps. */
async function weigh(spawnChunk: (round: number, from: number, to: number) => Promise<void> | void): Promise<number> {
  const before = liveHeap();
  await round(null, (from, to) => spawnChunk(ROUNDS, from, to));
  return (liveHeap() - before) / COUNT;
}

async function threadstate(): Promise<{ chunked: Figures; sequentialPerSec: number }> {
  const system = await benchSystem();
  try {
    await spawnInto(system, toggle, slots<ActorRef>(WARMUP));
    // One array per round (and one for the weighing round), allocated before any heap baseline.
    const refs = Array.from({ length: ROUNDS + 1 }, () => slots<ActorRef>(COUNT));
    const spawnChunk = async (r: number, from: number, to: number): Promise<void> => {
      const spawns: Promise<ActorRef>[] = [];
      for (let i = from; i < to; i++) spawns.push(system.spawn(toggle));
      const made = await Promise.all(spawns);
      const into = refs[r] as (ActorRef | null)[];
      for (let i = from; i < to; i++) into[i] = made[i - from] as ActorRef;
    };
    const timed = await timeRounds(spawnChunk);
    const sequentialPerSec = await sequential(system);
    const bytesPerActor = await weigh(spawnChunk);
    check(refs.every((a) => a.every((ref) => ref !== null)) && system.actorIds().length === WARMUP + (ROUNDS + 1) * COUNT + SEQUENTIAL, 'every spawned actor should be running');
    return { chunked: { ...timed, bytesPerActor }, sequentialPerSec };
  } finally {
    await system.shutdown();
  }
}

/** `await system.spawn(...)` one at a time, the way most code spawns. */
async function sequential(system: ActorSystem): Promise<number> {
  const refs = slots<ActorRef>(SEQUENTIAL);
  const t0 = nowNs();
  for (let i = 0; i < SEQUENTIAL; i++) refs[i] = await system.spawn(toggle);
  return perSecond(SEQUENTIAL, nowNs() - t0);
}

async function baseline(): Promise<Figures> {
  const warm = Array.from({ length: WARMUP }, () => createActor(xToggle).start());
  const actors = Array.from({ length: ROUNDS + 1 }, () => slots<XActor<typeof xToggle>>(COUNT));
  const spawnChunk = (r: number, from: number, to: number): void => {
    const into = actors[r] as (XActor<typeof xToggle> | null)[];
    for (let i = from; i < to; i++) into[i] = createActor(xToggle).start();
  };
  const timed = await timeRounds(spawnChunk);
  const bytesPerActor = await weigh(spawnChunk);
  for (const a of warm) a.stop();
  for (const round of actors) for (const a of round) a?.stop();
  return { ...timed, bytesPerActor };
}

export async function run(): Promise<Row[]> {
  const ts = await threadstate();
  const xs = await baseline();
  const b = (v: number): Record<string, number> => ({ xstate: v });
  return [
    row(SCENARIO, `${COUNT / 1e3}k actors, ${CHUNK} spawns in flight (median of ${ROUNDS})`, 'actors/s', ts.chunked.perSec, b(xs.perSec), { op: '>=', value: 500e3 }),
    row(SCENARIO, `p50 per chunk of ${CHUNK}`, 'µs', ts.chunked.p50, b(xs.p50)),
    row(SCENARIO, `p99 per chunk of ${CHUNK}`, 'µs', ts.chunked.p99, b(xs.p99)),
    // XState's createActor is synchronous: its figure is the same loop as above.
    row(SCENARIO, `one at a time (await spawn, ${SEQUENTIAL / 1e3}k)`, 'actors/s', ts.sequentialPerSec, b(xs.perSec)),
    row(SCENARIO, 'heap per idle actor', 'B', ts.chunked.bytesPerActor, b(xs.bytesPerActor), { op: '<=', value: 700 }),
  ];
}

/** For the CPU profile driver: the timed spawns of the threadstate side (chunked, as measured). */
export async function profileWorkload(profiled: Profiled): Promise<void> {
  const system = await benchSystem();
  await spawnInto(system, toggle, slots<ActorRef>(WARMUP));
  await profiled(async () => {
    for (let r = 0; r < ROUNDS; r++) await spawnInto(system, toggle, slots<ActorRef>(COUNT), CHUNK);
  });
  await system.shutdown();
}
