/**
 * Timeouts as gen_statem defines them: an event timeout is cancelled by any event; a state
 * timeout by a state change; named (generic) timeouts never implicitly; re-arming restarts;
 * cancel and update; absolute deadlines; 0 ms and Infinity. All on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import {
  cancelTimeout,
  defineMachine,
  eventTimeout,
  keep,
  keepAll,
  next,
  nextEvent,
  reply,
  stateTimeout,
  timeout,
  updateTimeout,
  type Action,
} from 'threadstate';
import { testSystem } from './helpers.js';

type D = { log: string[] };

/**
 * A probe machine: casts carry the actions to return (and optionally a state to go to); every
 * timeout it gets is logged with the virtual time it arrived at.
 */
function probe(now: () => number) {
  const log = (d: D, s: string): D => ({ log: [...d.log, `${s}@${now()}`] });
  const handlers = {
    cast: (m: { to?: string; actions?: Action[]; tag?: string }, d: D) => {
      const data = m.tag ? log(d, m.tag) : d;
      return m.to ? next(m.to, data, m.actions) : keep(data, m.actions);
    },
    call: (_m: unknown, d: D, from: never) => keepAll([reply(from, d.log)]),
    timeout: (msg: string, d: D) => keep(log(d, `timeout:${msg}`)),
    state_timeout: (msg: string, d: D) => keep(log(d, `state_timeout:${msg}`)),
    generic_timeout: (msg: string, d: D) => keep(log(d, `generic_timeout:${msg}`)),
    internal: (msg: { to?: string; actions?: Action[]; tag?: string }, d: D) => {
      const data = msg.tag ? log(d, msg.tag) : d;
      return msg.to ? next(msg.to, data, msg.actions) : keep(data, msg.actions);
    },
  };
  return defineMachine({
    name: 'probe',
    init: () => ({ state: 'a', data: { log: [] } as D }),
    states: { a: handlers, b: handlers },
  });
}

async function setup() {
  const system = await testSystem();
  const start = system.clock.now();
  const now = () => system.clock.now() - start;
  const ref = await system.spawn(probe(now));
  const log = () => ref.call('log') as Promise<string[]>;
  return { system, ref, log };
}

describe('event timeout', () => {
  it('fires when no event arrives in time', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [eventTimeout(100, 'idle')] });
    await system.clock.advance(99);
    await system.clock.advance(1);
    // The 'log' call itself is an event, so check after the timeout has fired.
    expect(await log()).toEqual(['timeout:idle@100']);
    await system.shutdown();
  });

  it('is cancelled by any event, even one the machine ignores', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [eventTimeout(100, 'idle')] });
    await system.clock.advance(50);
    ref.cast({}); // any event cancels it
    await system.clock.advance(200);
    expect(await log()).toEqual([]);
    expect(await system.timeoutsOf(ref.id)).toEqual([]);
    await system.shutdown();
  });

  it('is not armed when events are already queued, and 0 ms fires only on an empty queue', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [eventTimeout(0, 'zero')] });
    ref.cast({ tag: 'next' }); // queued: the zero event timeout must not fire
    await system.clock.advance(0);
    expect(await log()).toEqual(['next@0']);
    ref.cast({ actions: [eventTimeout(0, 'zero')] }); // nothing queued now: fires at once
    await system.clock.advance(0);
    expect(await log()).toEqual(['next@0', 'timeout:zero@0']);
    await system.shutdown();
  });
});

describe('state timeout', () => {
  it('survives events in the same state and is cancelled by a state change', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(100, 'st')] });
    await system.clock.advance(50);
    ref.cast({ tag: 'same-state' }); // keep: the state timeout runs on
    await system.clock.advance(50);
    expect(await log()).toEqual(['same-state@50', 'state_timeout:st@100']);
    ref.cast({ actions: [stateTimeout(100, 'st2')] });
    await system.clock.advance(10);
    ref.cast({ to: 'b' }); // state change: cancelled
    await system.clock.advance(500);
    expect(await log()).toEqual(['same-state@50', 'state_timeout:st@100']);
    await system.shutdown();
  });

  it('set in the transition that changes state belongs to the new state', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(100, 'old')] });
    ref.cast({ to: 'b', actions: [stateTimeout(100, 'new')] });
    await system.clock.advance(100);
    expect(await log()).toEqual(['state_timeout:new@100']);
    await system.shutdown();
  });

  it('re-arming restarts it', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(100, 'first')] });
    await system.clock.advance(60);
    ref.cast({ actions: [stateTimeout(100, 'second')] });
    await system.clock.advance(60); // t=120: the first would have fired at 100
    expect(await log()).toEqual([]);
    await system.clock.advance(40);
    expect(await log()).toEqual(['state_timeout:second@160']);
    await system.shutdown();
  });

  it('a zero state timeout is cancelled if an inserted event changes state first (delivered only in its own state)', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(0, 'zero'), nextEvent('internal', { to: 'b', tag: 'inserted' })] });
    await system.clock.advance(0);
    expect(await log()).toEqual(['inserted@0']);
    await system.shutdown();
  });

  it('Infinity arms nothing and cancels a running one', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(100, 'x')] });
    ref.cast({ actions: [stateTimeout(Infinity, 'never')] });
    await system.clock.advance(1000);
    expect(await log()).toEqual([]);
    expect(await system.timeoutsOf(ref.id)).toEqual([]);
    await system.shutdown();
  });
});

describe('named (generic) timeouts', () => {
  it('are never cancelled implicitly: neither by events nor by state changes', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [timeout('t1', 100, 'one'), timeout('t2', 50, 'two')] });
    ref.cast({ to: 'b' });
    await system.clock.advance(30);
    ref.cast({ to: 'a' });
    await system.clock.advance(100);
    expect(await log()).toEqual(['generic_timeout:two@50', 'generic_timeout:one@100']);
    await system.shutdown();
  });

  it('re-arming the same name restarts it; other names are independent', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [timeout('t', 100, 'a'), timeout('u', 100, 'u')] });
    await system.clock.advance(50);
    ref.cast({ actions: [timeout('t', 100, 'b')] });
    await system.clock.advance(100);
    expect(await log()).toEqual(['generic_timeout:u@100', 'generic_timeout:b@150']);
    await system.shutdown();
  });

  it('exposes the name to the handler (ctx.event.name)', async () => {
    const names: string[] = [];
    const m = defineMachine({
      name: 'named',
      init: () => ({ state: 's', data: null, actions: [timeout('alpha', 10, 1), timeout('beta', 20, 2)] }),
      states: {
        s: {
          generic_timeout: (_msg, _d, ctx) => {
            names.push(ctx.event.name as string);
            return keepAll();
          },
        },
      },
    });
    const system = await testSystem();
    await system.spawn(m);
    await system.clock.advance(20);
    expect(names).toEqual(['alpha', 'beta']);
    await system.shutdown();
  });
});

describe('cancel and update', () => {
  it('cancelTimeout stops each kind, including one that already fired but was not handled', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(100, 's'), timeout('n', 100, 'n')] });
    ref.cast({ actions: [cancelTimeout('state_timeout'), cancelTimeout('n')] });
    await system.clock.advance(200);
    expect(await log()).toEqual([]);
    // A zero timeout is queued at once; cancelling it in the next inserted event drops it.
    ref.cast({ actions: [timeout('z', 0, 'z'), nextEvent('internal', { actions: [cancelTimeout('z')] })] });
    await system.clock.advance(0);
    expect(await log()).toEqual([]);
    await system.shutdown();
  });

  it('updateTimeout changes the message of a running timer without moving its deadline', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [stateTimeout(100, 'old'), timeout('n', 80, 'old-n')] });
    await system.clock.advance(40);
    ref.cast({ actions: [updateTimeout('state_timeout', 'new'), updateTimeout('n', 'new-n')] });
    await system.clock.advance(60);
    expect(await log()).toEqual(['generic_timeout:new-n@80', 'state_timeout:new@100']);
    await system.shutdown();
  });

  it('updateTimeout of a timer that is not running fires it as a zero timeout with the new message', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [updateTimeout('n', 'now')] });
    await system.clock.advance(0);
    expect(await log()).toEqual(['generic_timeout:now@0']);
    await system.shutdown();
  });
});

describe('absolute deadlines and timer ordering', () => {
  it('opts.at fires at the absolute epoch time; a deadline already past fires at once', async () => {
    const { system, ref, log } = await setup();
    const t0 = system.clock.now();
    ref.cast({ actions: [stateTimeout(0, 'abs', { at: t0 + 250 }), timeout('past', 0, 'past', { at: t0 - 1000 })] });
    await system.clock.advance(0);
    expect(await log()).toEqual(['generic_timeout:past@0']);
    await system.clock.advance(250);
    expect(await log()).toEqual(['generic_timeout:past@0', 'state_timeout:abs@250']);
    await system.shutdown();
  });

  it('a timeout armed by a timeout handler fires at its own virtual time within one advance', async () => {
    const m = defineMachine({
      name: 'ticker',
      init: () => ({ state: 's', data: [] as number[], actions: [stateTimeout(100, 'tick')] }),
      states: {
        s: {
          state_timeout: (_m, ticks: number[], ctx) => keep([...ticks, ctx.event.kind === 'state_timeout' ? ticks.length : -1], [stateTimeout(100, 'tick')]),
          call: (_m, ticks: number[], from) => keepAll([reply(from, ticks)]),
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    await system.clock.advance(350);
    expect(await ref.call('ticks')).toEqual([0, 1, 2]);
    await system.shutdown();
  });

  it('equal deadlines fire in the order they were armed', async () => {
    const { system, ref, log } = await setup();
    ref.cast({ actions: [timeout('x', 100, 'x'), timeout('y', 100, 'y'), stateTimeout(100, 's')] });
    await system.clock.advance(100);
    expect(await log()).toEqual(['generic_timeout:x@100', 'generic_timeout:y@100', 'state_timeout:s@100']);
    await system.shutdown();
  });
});
