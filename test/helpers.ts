/**
 * Shared test helpers: a quiet virtual-clock system (on the calling thread or on worker threads),
 * ways to let every thread run, and observer and gate actors for seeing what handlers running
 * on another thread did.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createSystem, type ActorRef, type ActorSystem, type SystemOptions } from 'threadstate';
import { collector, gate } from './fixtures/observe.js';

/** The settings every semantic test runs under: everything on the calling thread, and two shard threads. */
export const WORKERS = [0, 2] as const;

/** A system on the virtual clock with logging silenced (unless THREADSTATE_LOG_LEVEL is set). `workers` defaults to 0. */
export function testSystem(opts: SystemOptions = {}): Promise<ActorSystem> {
  return createSystem({ workers: 0, clock: 'virtual', db: ':memory:', logger: { level: process.env.THREADSTATE_LOG_LEVEL ?? 'silent' }, ...opts });
}

/** Lets queued events and promise chains run (real macrotask turns; no time passes on the virtual clock). */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Lets every thread run what it has queued, without moving virtual time: on workers: 0 a few
 * macrotask turns (`flush`); with worker threads `clock.advance(0)`, which waits until every
 * thread is quiet and every record sent between threads has been received.
 */
export async function settle(system: ActorSystem, turns = 3): Promise<void> {
  if (system.workers === 0) await flush(turns);
  else await system.clock.advance(0);
}

/**
 * Events raised by actors (deadLetter, crash, stop…) are emitted synchronously on workers: 0; an
 * actor on a shard raises them there and they reach the main thread a moment later. This waits for
 * them on a multi-thread system and does nothing on workers: 0 (so the synchronous behaviour there
 * is still what the test asserts).
 */
export async function arrived(system: ActorSystem): Promise<void> {
  if (system.workers > 0) await system.clock.advance(0);
}

export interface Observer {
  ref: ActorRef;
  /** What has been cast to the observer so far, once every thread has settled. */
  entries(): Promise<unknown[]>;
}

/** Spawns a collector actor: handlers (on any thread) report to it with `observer.cast(entry)`. */
export async function spawnObserver(system: ActorSystem, id?: string): Promise<Observer> {
  const ref = await system.spawn(collector, id === undefined ? {} : { id });
  return {
    ref,
    entries: async () => {
      await settle(system);
      return ref.call<unknown[]>('log');
    },
  };
}

export interface Gate {
  ref: ActorRef;
  /** Answers every caller parked on the gate (and every later one) with `value`. */
  open(value?: unknown): void;
}

/** Spawns a gate actor: a handler parks with `await ctx.call(gate, 'wait', { timeout: Infinity })` until the test opens it. */
export async function spawnGate(system: ActorSystem, id?: string): Promise<Gate> {
  const ref = await system.spawn(gate, id === undefined ? {} : { id });
  return { ref, open: (value: unknown = 'open') => ref.cast({ open: value }) };
}

/**
 * `actual` is the error `expected`: the very object on workers: 0; an error that crossed threads
 * is rebuilt on arrival, so there it must be of the same class with the same name and message.
 */
export function expectSameError(system: ActorSystem, actual: unknown, expected: unknown): void {
  if (system.workers === 0) {
    expect(actual).toBe(expected);
    return;
  }
  expect(expected).toBeInstanceOf(Error);
  const e = expected as Error;
  expect(actual).toBeInstanceOf(e.constructor as new () => Error);
  expect((actual as Error).name).toBe(e.name);
  expect((actual as Error).message).toBe(e.message);
}

/**
 * One system per describe block, shared by its tests (a multi-thread system takes a while to
 * start): made before the first test, shut down after the last. After each test its listeners are
 * removed and the actors it left are stopped (each given a moment; one stuck in a handler is left
 * for the shutdown to kill). Tests sharing a system use distinct actor ids.
 */
export function sharedSystem(workers: number, opts: SystemOptions = {}): () => ActorSystem {
  let system: ActorSystem | null = null;
  const abandoned = new Set<string>();
  beforeAll(async () => {
    system = await testSystem({ shutdownTimeout: 50, ...opts, workers });
  });
  afterEach(async () => {
    const s = system;
    if (s === null) return;
    s.removeAllListeners();
    const stopOrAbandon = async (id: string): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        s.ref(id).stop().then(
          () => true,
          () => true,
        ),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), 300))),
      ]);
      clearTimeout(timer);
      if (!stopped) abandoned.add(id);
    };
    await Promise.all(s.actorIds().filter((id) => !abandoned.has(id)).map(stopOrAbandon));
  });
  afterAll(async () => {
    await system?.shutdown();
    system = null;
  });
  return () => {
    if (system === null) throw new Error('sharedSystem: used outside a test');
    return system;
  };
}

/** The error a promise rejects with (fails the test if it fulfils). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** The error a function throws (fails the test if it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
