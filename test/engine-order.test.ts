/**
 * Event order after a transition, as gen_statem documents it: actions in list order; on a state
 * change postponed events are retried oldest first; nextEvent events go ahead of everything
 * queued; zero-time timeouts come after inserted and postponed events and before external
 * messages not yet received.
 */
import { describe, expect, it } from 'vitest';
import { defineMachine, keep, keepAll, next, nextEvent, postpone, reply, stateTimeout, timeout } from 'threadstate';
import { testSystem } from './helpers.js';

type Log = { seen: string[] };
const note = (data: Log, s: string): Log => ({ seen: [...data.seen, s] });

describe('postpone', () => {
  // State a postpones everything but 'go'; b postpones everything but 'go'; c handles all.
  const relay = defineMachine({
    name: 'relay',
    init: () => ({ state: 'a', data: { seen: [] } as Log }),
    states: {
      a: { cast: (m: string, d: Log) => (m === 'go' ? next('b', note(d, `a:${m}`)) : keepAll([postpone()])), call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]) },
      b: { cast: (m: string, d: Log) => (m === 'go' ? next('c', note(d, `b:${m}`)) : m.startsWith('x') ? keep(note(d, `b:${m}`)) : keepAll([postpone()])), call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]) },
      c: { cast: (m: string, d: Log) => keep(note(d, `c:${m}`)), call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]) },
    },
  });

  it('retries postponed events oldest first, only after a state change, across several changes', async () => {
    const system = await testSystem();
    const ref = await system.spawn(relay);
    for (const m of ['m1', 'm2', 'go', 'x1', 'm3', 'go', 'm4']) ref.cast(m);
    // a: m1, m2 postponed; go → b. In b, m1 and m2 are retried first (postponed again), then x1
    // (handled, no state change: postponed stay put), m3 postponed, go → c: m1, m2, m3 retried in order.
    expect(await ref.call('log')).toEqual(['a:go', 'b:x1', 'b:go', 'c:m1', 'c:m2', 'c:m3', 'c:m4']);
    await system.shutdown();
  });

  it('does not retry postponed events when the state stays the same (keep or next to the same state)', async () => {
    const m = defineMachine({
      name: 'same',
      init: () => ({ state: 'a', data: { seen: [] } as Log }),
      states: {
        a: {
          cast: (msg: string, d: Log) => (msg === 'same' ? next('a', note(d, 'same')) : msg === 'go' ? next('b', note(d, 'go')) : keepAll([postpone()])),
          call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]),
        },
        b: { cast: (msg: string, d: Log) => keep(note(d, `b:${msg}`)), call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]) },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('p1');
    ref.cast('same');
    expect(await ref.call('log')).toEqual(['same']);
    ref.cast('go');
    expect(await ref.call('log')).toEqual(['same', 'go', 'b:p1']);
    await system.shutdown();
  });

  it('a postponed call is answered from a later state', async () => {
    const gate = defineMachine({
      name: 'gate',
      init: () => ({ state: 'closed', data: null }),
      states: {
        closed: { call: () => keepAll([postpone()]), cast: () => next('open', null) },
        open: { call: (msg, _d, from) => keepAll([reply(from, `open:${String(msg)}`)]) },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(gate);
    const answer = ref.call('q');
    ref.cast('open');
    expect(await answer).toBe('open:q');
    await system.shutdown();
  });
});

describe('inserted events (nextEvent)', () => {
  it('are handled before queued messages, in action order, as their own kinds', async () => {
    const m = defineMachine({
      name: 'inserter',
      init: () => ({ state: 's', data: { seen: [] } as Log }),
      states: {
        s: {
          cast: (msg: string, d: Log) => (msg === 'first' ? keep(note(d, 'cast:first'), [nextEvent('internal', 'i1'), nextEvent('info', 'i2'), nextEvent('cast', 'i3')]) : keep(note(d, `cast:${msg}`))),
          internal: (msg: string, d: Log) => keep(note(d, `internal:${msg}`)),
          info: (msg: string, d: Log) => keep(note(d, `info:${msg}`)),
          call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]),
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('first');
    ref.cast('second'); // already queued when 'first' inserts its events
    expect(await ref.call('log')).toEqual(['cast:first', 'internal:i1', 'info:i2', 'cast:i3', 'cast:second']);
    await system.shutdown();
  });

  it('go ahead of postponed events re-inserted by the same state change, and zero timeouts come after both, before messages', async () => {
    const m = defineMachine({
      name: 'order',
      init: () => ({ state: 'a', data: { seen: [] } as Log }),
      states: {
        a: {
          cast: (msg: string, d: Log) =>
            msg === 'go'
              ? next('b', note(d, 'a:go'), [stateTimeout(0, 'st0'), timeout('t0', 0, 'gt0'), nextEvent('internal', 'n1'), nextEvent('internal', 'n2')])
              : keepAll([postpone()]),
        },
        b: {
          cast: (msg: string, d: Log) => keep(note(d, `cast:${msg}`)),
          internal: (msg: string, d: Log) => keep(note(d, `internal:${msg}`)),
          state_timeout: (msg: string, d: Log) => keep(note(d, `state_timeout:${msg}`)),
          generic_timeout: (msg: string, d: Log) => keep(note(d, `generic_timeout:${msg}`)),
          call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]),
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('p1');
    ref.cast('p2');
    ref.cast('go');
    ref.cast('later'); // an external message queued before the transition
    expect(await ref.call('log')).toEqual([
      'a:go',
      'internal:n1',
      'internal:n2',
      'cast:p1',
      'cast:p2',
      'state_timeout:st0',
      'generic_timeout:gt0',
      'cast:later',
    ]);
    await system.shutdown();
  });

  it('init may insert events; they run before any message', async () => {
    const m = defineMachine({
      name: 'init-insert',
      init: () => ({ state: 's', data: { seen: [] } as Log, actions: [nextEvent('internal', 'boot')] }),
      states: {
        s: {
          internal: (msg: string, d: Log) => keep(note(d, `internal:${msg}`)),
          cast: (msg: string, d: Log) => keep(note(d, `cast:${msg}`)),
          call: (_m, d: Log, from) => keepAll([reply(from, d.seen)]),
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('hello');
    expect(await ref.call('log')).toEqual(['internal:boot', 'cast:hello']);
    await system.shutdown();
  });
});

describe('actions', () => {
  it('sends replies at once, in list order, and the last timeout of a kind wins', async () => {
    const order: string[] = [];
    const m = defineMachine({
      name: 'replies',
      init: () => ({ state: 's', data: [] as unknown[] }),
      states: {
        s: {
          // Hold the first two callers, then answer both in one transition.
          call: (msg, held: unknown[], from) => {
            const all = [...held, from];
            if (all.length < 2) return keep(all);
            return keep([], [reply(all[1] as never, 'second'), reply(all[0] as never, 'first'), stateTimeout(100, 'early'), stateTimeout(300, 'late')]);
          },
          state_timeout: (msg: string) => {
            order.push(`state_timeout:${msg}`);
            return keepAll();
          },
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    const a = ref.call('a').then((v) => order.push(`a=${String(v)}`));
    const b = ref.call('b').then((v) => order.push(`b=${String(v)}`));
    await Promise.all([a, b]);
    expect(order).toEqual(['b=second', 'a=first']);
    await system.clock.advance(299);
    expect(order).toEqual(['b=second', 'a=first']);
    await system.clock.advance(1);
    expect(order).toEqual(['b=second', 'a=first', 'state_timeout:late']);
    await system.shutdown();
  });
});
