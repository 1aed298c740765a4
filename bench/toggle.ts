/**
 * The threadstate side of every scenario: the toggle machine (inactive ⇄ active on a cast; a
 * call replies with the state), and the timed variants used by the timeout scenario.
 */
import { type ActorRef, type ActorSystem, createSystem, defineMachine, keepAll, type Machine, next, reply, stateTimeout, timeout } from 'threadstate';

/** The cast that toggles, and the call that asks for the state. Constants: the benchmark measures
 *  the engine, not the allocation of messages. */
export const TOGGLE = 'toggle';
export const GET = 'get';

export type ToggleState = 'inactive' | 'active';

export const toggle = defineMachine<void, null>({
  name: 'toggle',
  init: () => ({ state: 'inactive', data: null }),
  states: {
    inactive: {
      cast: (_msg, data) => next('active', data),
      call: (_msg, _data, from) => keepAll([reply(from, 'inactive')]),
    },
    active: {
      cast: (_msg, data) => next('inactive', data),
      call: (_msg, _data, from) => keepAll([reply(from, 'active')]),
    },
  },
});

/** Far enough ahead that no timer fires while it is measured. */
export const TIMER_MS = 60_000;

/** The toggle whose `active` state falls back to `inactive` after TIMER_MS (a state timeout) —
 *  the equivalent of XState's `after: { 60000: 'inactive' }`. */
export const timedToggle = defineMachine<void, null>({
  name: 'timed_toggle',
  init: () => ({ state: 'inactive', data: null }),
  states: {
    inactive: {
      cast: (_msg, data) => next('active', data, [stateTimeout(TIMER_MS, 'expire')]),
      call: (_msg, _data, from) => keepAll([reply(from, 'inactive')]),
    },
    active: {
      cast: (_msg, data) => next('inactive', data),
      state_timeout: (_msg, data) => next('inactive', data),
      call: (_msg, _data, from) => keepAll([reply(from, 'active')]),
    },
  },
});

/** Named (generic) timeouts an actor of `namedTimers` arms per cast. */
export const TIMER_NAMES: readonly string[] = Array.from({ length: 10 }, (_, i) => `t${i}`);

/** One state; a cast arms one named timeout per name in TIMER_NAMES. */
export const namedTimers = defineMachine<void, null>({
  name: 'named_timers',
  init: () => ({ state: 'idle', data: null }),
  states: {
    idle: {
      cast: () => keepAll(TIMER_NAMES.map((name) => timeout(name, TIMER_MS, name))),
      call: (_msg, _data, from) => keepAll([reply(from, 'idle')]),
      generic_timeout: () => keepAll(),
    },
  },
});

/** A one-thread system with logging off, as every scenario uses. */
export function benchSystem(): Promise<ActorSystem> {
  return createSystem({ workers: 0, db: false, logger: { level: 'silent' } });
}

/** The state a toggle is in after `toggles` casts. */
export function stateAfter(toggles: number): ToggleState {
  return toggles % 2 === 0 ? 'inactive' : 'active';
}

/** Spawns `into.length` actors of `machine`, `chunk` spawns in flight at a time, into `into`
 *  (allocated by the caller, so that it can leave the array out of a heap measurement). */
export async function spawnInto<D>(system: ActorSystem, machine: Machine<void, D>, into: (ActorRef | null)[], chunk = 1000): Promise<ActorRef[]> {
  const spawns: Promise<ActorRef>[] = [];
  for (let from = 0; from < into.length; from += chunk) {
    const to = Math.min(into.length, from + chunk);
    spawns.length = 0;
    for (let i = from; i < to; i++) spawns.push(system.spawn(machine));
    const refs = await Promise.all(spawns);
    for (let i = from; i < to; i++) into[i] = refs[i - from] as ActorRef;
  }
  return into as ActorRef[];
}
