/**
 * Scenario 1 — cast throughput to one actor. A burst of casts in a loop, then one call: the
 * mailbox is FIFO, so its reply means every cast before it was handled. Baseline: XState `send`
 * to one actor (XState handles a send synchronously, inside `send`).
 */
import type { ActorRef } from 'threadstate';
import { type Actor as XActor, createActor } from 'xstate';
import { check, liveHeap, nowNs, perSecond, type Profiled, type Row, row, Samples, size } from './harness.js';
import { benchSystem, GET, stateAfter, TOGGLE, toggle, type ToggleState } from './toggle.js';
import { XTOGGLE, xToggle } from './xstate-toggle.js';

const SCENARIO = '1. cast → one actor';
/** Casts per burst. */
const BURST = size(1_000_000, 200_000);
const ROUNDS = size(5, 3);
/** Small bursts (casts + the call), timed one by one for percentiles. */
const BATCH = 10_000;
const BATCHES = size(200, 40);

/** An actor and how many toggles it has had, to check every cast was handled. */
class TsToggle {
  toggles = 0;
  constructor(readonly ref: ActorRef) {}

  /** `n` casts, then a call; returns the nanoseconds until the call's reply. */
  async burst(n: number): Promise<number> {
    const ref = this.ref;
    const t0 = nowNs();
    for (let i = 0; i < n; i++) ref.cast(TOGGLE);
    const state = await ref.call<ToggleState>(GET);
    const ns = nowNs() - t0;
    this.toggles += n;
    check(state === stateAfter(this.toggles), `after ${this.toggles} casts the toggle should be ${stateAfter(this.toggles)}, it replied ${state}`);
    return ns;
  }
}

function xBurst(actor: XActor<typeof xToggle>, n: number): number {
  const t0 = nowNs();
  for (let i = 0; i < n; i++) actor.send(XTOGGLE);
  return nowNs() - t0;
}

interface Figures {
  msgPerSec: number;
  p50: number;
  p99: number;
}

interface TsFigures extends Figures {
  /** Heap per cast queued and not yet handled. */
  queuedBytes: number;
  /** Heap still held, per cast of the burst, once the burst was handled. */
  retainedBytes: number;
}

async function threadstate(): Promise<TsFigures> {
  const system = await benchSystem();
  try {
    const actor = new TsToggle(await system.spawn(toggle));
    await actor.burst(BURST); // warm-up: JIT, and the mailbox grows to its steady size
    let total = 0;
    for (let r = 0; r < ROUNDS; r++) total += await actor.burst(BURST);
    const msgPerSec = perSecond(BURST * ROUNDS, total);

    const batches = new Samples();
    for (let b = 0; b < BATCHES; b++) batches.add((await actor.burst(BATCH)) / BATCH);

    // Memory, on a fresh actor: what a burst costs while queued (gc runs synchronously, before
    // the scheduler's microtask drains it), and what the actor keeps once it is handled.
    const fresh = new TsToggle(await system.spawn(toggle));
    await fresh.burst(1); // its mailbox exists now: measure the queue, not the mailbox object
    // The parity checks above cannot see an even number of lost casts; this untimed burst counts
    // its transitions exactly.
    let transitions = 0;
    system.on('transition', (t) => {
      if (t.id === fresh.ref.id) transitions++;
    });
    const before = liveHeap();
    for (let i = 0; i < BURST; i++) fresh.ref.cast(TOGGLE);
    const queued = liveHeap();
    fresh.toggles += BURST;
    await fresh.burst(1);
    const retained = liveHeap();
    check(transitions === BURST + 1, `${BURST + 1} casts should make as many transitions, saw ${transitions}`);
    return {
      msgPerSec,
      p50: batches.percentile(50),
      p99: batches.percentile(99),
      queuedBytes: (queued - before) / BURST,
      retainedBytes: (retained - before) / BURST,
    };
  } finally {
    await system.shutdown();
  }
}

function xstate(): Figures {
  const actor = createActor(xToggle).start();
  xBurst(actor, BURST);
  let total = 0;
  for (let r = 0; r < ROUNDS; r++) total += xBurst(actor, BURST);
  const msgPerSec = perSecond(BURST * ROUNDS, total);
  const batches = new Samples();
  for (let b = 0; b < BATCHES; b++) batches.add(xBurst(actor, BATCH) / BATCH);
  const toggles = BURST * (ROUNDS + 1) + BATCH * BATCHES;
  check(actor.getSnapshot().value === stateAfter(toggles), 'xstate toggle ended in the wrong state');
  actor.stop();
  return { msgPerSec, p50: batches.percentile(50), p99: batches.percentile(99) };
}

export async function run(): Promise<Row[]> {
  const ts = await threadstate();
  const xs = xstate();
  const burst = `${BURST / 1e3}k casts + 1 call`;
  return [
    row(SCENARIO, `throughput (${burst}, ×${ROUNDS})`, 'msg/s', ts.msgPerSec, { xstate: xs.msgPerSec }, { op: '>=', value: 5e6 }),
    row(SCENARIO, `p50 per msg (bursts of ${BATCH / 1e3}k + call)`, 'ns', ts.p50, { xstate: xs.p50 }),
    row(SCENARIO, `p99 per msg (bursts of ${BATCH / 1e3}k + call)`, 'ns', ts.p99, { xstate: xs.p99 }),
    // XState handles a send inside `send`: nothing is ever queued, so it has no figure here.
    row(SCENARIO, `heap per queued cast (${BURST / 1e3}k unhandled)`, 'B', ts.queuedBytes),
    row(SCENARIO, 'heap kept after the burst, per cast', 'B', ts.retainedBytes),
  ];
}

/** For the CPU profile driver: the timed bursts of the threadstate side. */
export async function profileWorkload(profiled: Profiled): Promise<void> {
  const system = await benchSystem();
  const actor = new TsToggle(await system.spawn(toggle));
  await actor.burst(BURST);
  await profiled(async () => {
    for (let r = 0; r < ROUNDS; r++) await actor.burst(BURST);
  });
  await system.shutdown();
}
