/**
 * Scenario 5 — arming timeouts. What is measured: one state timeout per actor (a state timeout is
 * one per actor, so N timeouts means N actors), armed by a cast whose handler returns
 * `next('active', data, [stateTimeout(60_000, …)])`. The heap figure is the live heap after
 * arming minus before, over the number of timeouts; every actor has already handled an event
 * before the "before" measurement, so its mailbox and context are not counted as timer cost.
 * The rate counts the whole cast → handler → transition → arm path, a chunk at a time, a chunk
 * ending with a call to its last actor (the run queue is FIFO, so its reply comes after the
 * chunk's casts; every actor's timer is checked afterwards).
 * A second figure arms 10 named timeouts per actor (`timeout(name, ms, msg)`), which adds the
 * per-actor map of named timers.
 * Baselines: XState `after: { 60000: 'inactive' }` entered by TOGGLE (a setTimeout per actor, plus
 * XState's bookkeeping), and a bare `setTimeout(fn, 60_000)` per timer.
 * Each side is timed on one set of actors and weighed on another (see measure()).
 */
import type { ActorRef, ActorSystem, Machine } from 'threadstate';
import { type Actor as XActor, createActor } from 'xstate';
import { check, liveHeap, nowNs, perSecond, type Profiled, type Row, row, Samples, size, slots } from './harness.js';
import { benchSystem, GET, namedTimers, spawnInto, TIMER_MS, TIMER_NAMES, timedToggle, TOGGLE } from './toggle.js';
import { XTOGGLE, xTimedToggle } from './xstate-toggle.js';

const SCENARIO = '5. timeouts';
/** Threadstate state timeouts (= actors). */
const STATE_TIMEOUTS = size(1_000_000, 100_000);
/** Actors arming TIMER_NAMES.length named timeouts each. */
const NAMED_ACTORS = size(100_000, 10_000);
/** XState actors are heavier; fewer of them (the figures are per timeout). */
const X_ACTORS = size(200_000, 20_000);
const RAW_TIMERS = size(1_000_000, 100_000);
const WARMUP = size(20_000, 5_000);
const CHUNK = 1000;

interface Figures {
  armsPerSec: number;
  /** Nanoseconds per arm, per chunk. */
  p50: number;
  p99: number;
  bytesPerTimeout: number;
}

/** Arms timeouts on `count` actors by `arm(from, to)`, chunk by chunk; returns the total nanoseconds. */
async function armAll(count: number, timersPerActor: number, samples: Samples | null, arm: (from: number, to: number) => Promise<void> | void): Promise<number> {
  let total = 0;
  for (let from = 0; from < count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK);
    const t0 = nowNs();
    await arm(from, to);
    const ns = nowNs() - t0;
    total += ns;
    samples?.add(ns / ((to - from) * timersPerActor));
  }
  return total;
}

/** What a side provides for one pass: `count` actors (or timer slots) ready to arm, and a cleanup. */
interface Pass {
  count: number;
  arm(from: number, to: number): Promise<void> | void;
  close(): Promise<void>;
}

/**
 * A timed pass, then a weighed pass on fresh actors (a forced GC right before timing would slow
 * what is timed; see liveHeap). `open` sets up a pass; its set-up is neither timed nor weighed.
 */
async function measure(timersPerActor: number, open: () => Promise<Pass>): Promise<Figures> {
  const samples = new Samples();
  const timed = await open();
  const ns = await armAll(timed.count, timersPerActor, samples, (from, to) => timed.arm(from, to));
  await timed.close();
  const weighed = await open();
  const before = liveHeap();
  await armAll(weighed.count, timersPerActor, null, (from, to) => weighed.arm(from, to));
  const after = liveHeap();
  await weighed.close();
  return {
    armsPerSec: perSecond(timed.count * timersPerActor, ns),
    p50: samples.percentile(50),
    p99: samples.percentile(99),
    bytesPerTimeout: (after - before) / (weighed.count * timersPerActor),
  };
}

/** Arms the timeouts of refs[from, to) by a cast each, then awaits a call to the last one. */
function armChunk(refs: readonly ActorRef[], armedState: string): (from: number, to: number) => Promise<void> {
  return async (from, to) => {
    for (let i = from; i < to; i++) (refs[i] as ActorRef).cast(TOGGLE);
    const state = await (refs[to - 1] as ActorRef).call<string>(GET);
    if (state !== armedState) check(false, `an actor that armed its timeout replied ${state}`);
  };
}

/** Spawns `count` actors of `machine` and has each handle a call, so that its mailbox and
 *  context exist before the heap baseline. */
async function prepare(system: ActorSystem, machine: Machine<void, null>, count: number): Promise<ActorRef[]> {
  const refs = await spawnInto(system, machine, slots<ActorRef>(count));
  for (let from = 0; from < count; from += CHUNK) {
    const calls: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(count, from + CHUNK); i++) calls.push((refs[i] as ActorRef).call(GET));
    await Promise.all(calls);
  }
  return refs;
}

/** A threadstate pass: a fresh system, warmed up, with `count` prepared actors; closing checks
 *  that every actor has `expected` timeouts armed, then shuts the system down. */
function threadstatePass(machine: Machine<void, null>, count: number, armedState: string, expected: readonly string[]): () => Promise<Pass> {
  return async () => {
    const system = await benchSystem();
    const warm = await prepare(system, machine, WARMUP);
    await armAll(WARMUP, 1, null, armChunk(warm, armedState));
    const refs = await prepare(system, machine, count);
    return {
      count,
      arm: armChunk(refs, armedState),
      close: async () => {
        for (const ref of refs) {
          const armed = await system.timeoutsOf(ref.id);
          if (armed.length !== expected.length || armed.some((name, i) => name !== expected[i])) check(false, `${ref.id} should have [${expected.join(', ')}] armed, has [${armed.join(', ')}]`);
        }
        await system.shutdown();
      },
    };
  };
}

function xstatePass(): Promise<Pass> {
  const warm = Array.from({ length: WARMUP }, () => createActor(xTimedToggle).start());
  for (const a of warm) a.send(XTOGGLE);
  const actors = Array.from({ length: X_ACTORS }, () => createActor(xTimedToggle).start());
  return Promise.resolve({
    count: X_ACTORS,
    arm: (from: number, to: number) => {
      for (let i = from; i < to; i++) (actors[i] as XActor<typeof xTimedToggle>).send(XTOGGLE);
    },
    close: () => {
      check(actors.every((a) => a.getSnapshot().value === 'active'), 'every XState actor should be active');
      for (const a of warm) a.stop(); // stopping cancels the delayed transitions' timers
      for (const a of actors) a.stop();
      return Promise.resolve();
    },
  });
}

function rawPass(): Promise<Pass> {
  const noop = (): void => {};
  const warm = Array.from({ length: WARMUP }, () => setTimeout(noop, TIMER_MS));
  const timers = slots<NodeJS.Timeout>(RAW_TIMERS);
  return Promise.resolve({
    count: RAW_TIMERS,
    arm: (from: number, to: number) => {
      for (let i = from; i < to; i++) timers[i] = setTimeout(noop, TIMER_MS);
    },
    close: () => {
      for (const t of warm) clearTimeout(t);
      for (const t of timers) if (t !== null) clearTimeout(t);
      return Promise.resolve();
    },
  });
}

export async function run(): Promise<Row[]> {
  // The bare timers first: their timed pass has no set-up to separate it from the process start.
  const raw = await measure(1, rawPass);
  const state = await measure(1, threadstatePass(timedToggle, STATE_TIMEOUTS, 'active', ['state_timeout']));
  const named = await measure(TIMER_NAMES.length, threadstatePass(namedTimers, NAMED_ACTORS, 'idle', TIMER_NAMES));
  const xs = await measure(1, xstatePass);
  const b = (f: (x: Figures) => number): Record<string, number> => ({ xstate: f(xs), setTimeout: f(raw) });
  const n = `${STATE_TIMEOUTS / 1e3}k`;
  return [
    row(SCENARIO, `arm ${n} state timeouts (1/actor, by cast)`, 'arms/s', state.armsPerSec, b((x) => x.armsPerSec)),
    row(SCENARIO, `p50 per arm (chunks of ${CHUNK})`, 'ns', state.p50, b((x) => x.p50)),
    row(SCENARIO, `p99 per arm (chunks of ${CHUNK})`, 'ns', state.p99, b((x) => x.p99)),
    row(SCENARIO, 'heap per armed state timeout', 'B', state.bytesPerTimeout, b((x) => x.bytesPerTimeout), { op: '<=', value: 150 }),
    row(SCENARIO, `arm named timeouts (${TIMER_NAMES.length}/actor × ${NAMED_ACTORS / 1e3}k)`, 'arms/s', named.armsPerSec, b((x) => x.armsPerSec)),
    row(SCENARIO, 'heap per armed named timeout', 'B', named.bytesPerTimeout, b((x) => x.bytesPerTimeout)),
  ];
}

/** For the CPU profile driver: the timed arming of state timeouts (actors spawned and primed first). */
export async function profileWorkload(profiled: Profiled): Promise<void> {
  const pass = await threadstatePass(timedToggle, STATE_TIMEOUTS, 'active', ['state_timeout'])();
  await profiled(async () => {
    await armAll(pass.count, 1, null, (from, to) => pass.arm(from, to));
  });
  await pass.close();
}
