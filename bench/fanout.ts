/**
 * Scenario 3 — fan-out: many actors, then a cast to each and a call to each, the calls awaited
 * with Promise.all a chunk at a time. Baseline: as many XState actors, `send` for the cast and a
 * PromiseMailbox per actor for the call. After a warm-up on as many actors, each round spawns
 * fresh actors into the same system (a fresh system per round would make V8 re-tune its code at
 * each start) and stops them afterwards; the rate is the median round's. The heap is weighed in a
 * last, untimed round.
 */
import type { ActorRef, ActorSystem } from 'threadstate';
import { type Actor as XActor, createActor } from 'xstate';
import { check, liveHeap, median, nowNs, perSecond, type Profiled, type Row, row, Samples, size, slots } from './harness.js';
import { PromiseMailbox } from './promise-mailbox.js';
import { benchSystem, GET, spawnInto, TOGGLE, toggle, type ToggleState } from './toggle.js';
import { XTOGGLE, xToggle } from './xstate-toggle.js';

const SCENARIO = '3. fan-out';
/** 100k in quick mode too: with fewer, the actors spawned just before a round are still young
 *  when it runs, and the GC's promoting them weighs on the figure (30k: ~1.0 M ops/s vs ~2 M). */
const ACTORS = 100_000;
const ROUNDS = size(3, 2);
/** Warm-up actors. As many as a round: with a fifth as many, the first round ran ~1.5× slower
 *  than the next ones (the JIT and V8's heap sizing were still settling). */
const WARM_ACTORS = size(ACTORS, ACTORS / 2);
const CHUNK = 1000;

/** Actors the fan-out reaches by index (arrays, not a wrapper per actor, so that the heap figures
 *  hold the actors and nothing of the bench's beyond an array slot or two each). */
interface Fleet {
  readonly size: number;
  cast(i: number): void;
  call(i: number): Promise<string>;
}

/** Where fleets come from: one system, or XState actors. */
interface Side {
  make(n: number): Promise<Fleet>;
  /** Stops a fleet's actors (untimed), so that rounds do not pile up actors. */
  release(fleet: Fleet): Promise<void>;
  close(): Promise<void>;
}

interface Figures {
  /** First contact: each actor's first cast and call (its mailbox and context are made then). */
  opsPerSec: number;
  /** The same actors again, right after: their second cast and call. */
  againPerSec: number;
  /** Per chunk: CHUNK casts + CHUNK calls, all replies in. */
  p50: number;
  p99: number;
  /** Heap per actor once it has handled a cast and a call. */
  bytesAfter: number;
  /** What that traffic added to an idle actor. */
  bytesAdded: number;
}

/** One cast and one call to every actor of the fleet; returns the total nanoseconds. Each cast
 *  toggles, so the calls reply `expect`. */
async function fanOut(fleet: Fleet, samples: Samples | null, expect: ToggleState = 'active'): Promise<number> {
  const calls: Promise<string>[] = [];
  let total = 0;
  for (let from = 0; from < fleet.size; from += CHUNK) {
    const to = Math.min(fleet.size, from + CHUNK);
    const t0 = nowNs();
    calls.length = 0;
    for (let i = from; i < to; i++) {
      fleet.cast(i);
      calls.push(fleet.call(i));
    }
    const replies = await Promise.all(calls);
    const ns = nowNs() - t0;
    total += ns;
    samples?.add(ns / 1e3);
    for (const r of replies) if (r !== expect) check(false, `an actor replied ${r}, expected ${expect}`);
  }
  return total;
}

async function measure(side: Side): Promise<Figures> {
  const warm = await side.make(WARM_ACTORS);
  await fanOut(warm, null);
  await side.release(warm);
  const rates: number[] = [];
  const again: number[] = [];
  const samples = new Samples();
  for (let r = 0; r < ROUNDS; r++) {
    const fleet = await side.make(ACTORS);
    rates.push(perSecond(2 * ACTORS, await fanOut(fleet, samples)));
    again.push(perSecond(2 * ACTORS, await fanOut(fleet, null, 'inactive')));
    await side.release(fleet);
  }
  const empty = liveHeap();
  const fleet = await side.make(ACTORS);
  const idle = liveHeap();
  await fanOut(fleet, null);
  const after = liveHeap();
  await side.close();
  return {
    opsPerSec: median(rates),
    againPerSec: median(again),
    p50: samples.percentile(50),
    p99: samples.percentile(99),
    bytesAfter: (after - empty) / ACTORS,
    bytesAdded: (after - idle) / ACTORS,
  };
}

class TsFleet implements Fleet {
  constructor(readonly refs: readonly ActorRef[]) {}
  get size(): number {
    return this.refs.length;
  }
  cast(i: number): void {
    (this.refs[i] as ActorRef).cast(TOGGLE);
  }
  call(i: number): Promise<string> {
    return (this.refs[i] as ActorRef).call<string>(GET);
  }
}

/** XState actors, each with a PromiseMailbox (over its snapshot) for calls. */
class XFleet implements Fleet {
  readonly actors: XActor<typeof xToggle>[] = [];
  private readonly mailboxes: PromiseMailbox<string, string>[] = [];
  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const actor = createActor(xToggle).start();
      this.actors.push(actor);
      this.mailboxes.push(new PromiseMailbox(() => actor.getSnapshot().value as string));
    }
  }
  get size(): number {
    return this.actors.length;
  }
  cast(i: number): void {
    (this.actors[i] as XActor<typeof xToggle>).send(XTOGGLE);
  }
  call(i: number): Promise<string> {
    return (this.mailboxes[i] as PromiseMailbox<string, string>).call(GET);
  }
}

async function tsSide(): Promise<Side> {
  const system: ActorSystem = await benchSystem();
  return {
    make: async (n) => new TsFleet(await spawnInto(system, toggle, slots<ActorRef>(n))),
    release: async (fleet) => {
      await Promise.all((fleet as TsFleet).refs.map((ref) => ref.stop()));
    },
    close: () => system.shutdown(),
  };
}

function xSide(): Promise<Side> {
  const live = new Set<XFleet>();
  const release = (fleet: XFleet): void => {
    for (const a of fleet.actors) a.stop();
    live.delete(fleet);
  };
  return Promise.resolve({
    make: (n) => {
      const fleet = new XFleet(n);
      live.add(fleet);
      return Promise.resolve(fleet);
    },
    release: (fleet) => Promise.resolve(release(fleet as XFleet)),
    close: () => Promise.resolve(live.forEach(release)),
  });
}

export async function run(): Promise<Row[]> {
  const ts = await measure(await tsSide());
  const xs = await measure(await xSide());
  const b = (v: number): Record<string, number> => ({ 'xstate+promise-mailbox': v });
  return [
    row(SCENARIO, `cast + call to each of ${ACTORS / 1e3}k new actors (median of ${ROUNDS})`, 'ops/s', ts.opsPerSec, b(xs.opsPerSec), { op: '>=', value: 1.5e6 }),
    row(SCENARIO, 'the same actors again (2nd cast + call each)', 'ops/s', ts.againPerSec, b(xs.againPerSec)),
    row(SCENARIO, `p50 per chunk (${CHUNK} casts + ${CHUNK} calls)`, 'µs', ts.p50, b(xs.p50)),
    row(SCENARIO, `p99 per chunk (${CHUNK} casts + ${CHUNK} calls)`, 'µs', ts.p99, b(xs.p99)),
    row(SCENARIO, 'heap per actor after its cast + call', 'B', ts.bytesAfter, b(xs.bytesAfter)),
    row(SCENARIO, '  of which added by that traffic', 'B', ts.bytesAdded, b(xs.bytesAdded)),
  ];
}

/** For the CPU profile driver: the timed fan-outs of the threadstate side (over fresh actors,
 *  spawned before profiling starts). */
export async function profileWorkload(profiled: Profiled): Promise<void> {
  const side = await tsSide();
  const warm = await side.make(WARM_ACTORS);
  await fanOut(warm, null);
  await side.release(warm);
  const fleets: Fleet[] = [];
  for (let r = 0; r < ROUNDS; r++) fleets.push(await side.make(ACTORS));
  await profiled(async () => {
    for (const fleet of fleets) await fanOut(fleet, null);
  });
  await side.close();
}
