/**
 * Results, enter calls, stopping and crashing: what each result does, when the state-enter call
 * runs (state change and repeat, never keep), terminate, and crashes in init, a handler,
 * an enter call and terminate.
 */
import { describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  defineMachine,
  InitError,
  InvalidResultError,
  keep,
  keepAll,
  next,
  nextEvent,
  NoProcError,
  postpone,
  repeat,
  reply,
  stateTimeout,
  stop,
  stopAndReply,
  type CrashEvent,
} from 'threadstate';
import { testSystem } from './helpers.js';

type D = { log: string[]; n: number };
const add = (d: D, s: string): D => ({ ...d, log: [...d.log, s] });

describe('enter calls', () => {
  const m = defineMachine({
    name: 'enterer',
    init: () => ({ state: 'a', data: { log: [], n: 0 } as D }),
    states: {
      a: {
        enter: (old, d: D) => keep(add(d, `enter a from ${String(old)}`)),
        cast: (msg: string, d: D) => {
          if (msg === 'go') return next('b', add(d, 'a:go'));
          if (msg === 'same') return next('a', add(d, 'a:same'));
          if (msg === 'repeat') return repeat(add(d, 'a:repeat'));
          if (msg === 'repeatAll') return repeat();
          return keep(add(d, `a:${msg}`));
        },
        call: (_m, d: D, from) => keepAll([reply(from, d.log)]),
      },
      b: {
        enter: (old, d: D) => keep(add(d, `enter b from ${String(old)}`), [stateTimeout(100, 'from-enter')]),
        cast: (msg: string, d: D) => next('a', add(d, `b:${msg}`), [stateTimeout(10, 'from-transition')]),
        state_timeout: (msg: string, d: D) => keep(add(d, `b:state_timeout:${msg}`)),
        call: (_m, d: D, from) => keepAll([reply(from, d.log)]),
      },
    },
  });

  it('runs for the initial state with oldState = the state itself, on state changes, and on repeat — never on keep', async () => {
    const system = await testSystem();
    const ref = await system.spawn(m);
    for (const msg of ['x', 'same', 'repeat', 'repeatAll', 'go']) ref.cast(msg);
    expect(await ref.call('log')).toEqual([
      'enter a from a',
      'a:x',
      'a:same',
      'a:repeat',
      'enter a from a',
      'enter a from a',
      'a:go',
      'enter b from a',
    ]);
    await system.shutdown();
  });

  it("appends its actions after the transition's (the last timeout of a kind wins)", async () => {
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('go'); // b's enter arms state timeout 100
    await system.clock.advance(100);
    expect((await ref.call<string[]>('log')).slice(-1)).toEqual(['b:state_timeout:from-enter']);
    await system.shutdown();
  });

  it('may not change state, postpone or insert events: the actor crashes with InvalidResultError', async () => {
    for (const bad of [() => next('other', null), () => keepAll([postpone()])]) {
      const system = await testSystem();
      const crashes: CrashEvent[] = [];
      system.on('crash', (c) => crashes.push(c));
      const bent = defineMachine({
        name: 'bent',
        init: () => ({ state: 's', data: null }),
        states: { s: { cast: () => next('t', null) }, t: { enter: bad }, other: {} },
      });
      const ref = await system.spawn(bent);
      ref.cast('go');
      await system.clock.advance(0);
      expect(crashes).toHaveLength(1);
      expect(crashes[0]?.reason).toBeInstanceOf(InvalidResultError);
      expect(system.has(ref.id)).toBe(false);
      await system.shutdown();
    }
  });

  it('an enter call may repeat itself (until it keeps)', async () => {
    const counter = defineMachine({
      name: 'rep',
      init: () => ({ state: 's', data: 0 }),
      states: {
        s: {
          enter: (_old, n: number) => (n < 3 ? repeat(n + 1) : keepAll()),
          call: (_m, n: number, from) => keepAll([reply(from, n)]),
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(counter);
    expect(await ref.call('n')).toBe(3);
    await system.shutdown();
  });
});

describe('stop and stopAndReply', () => {
  it('stop runs terminate(reason, state, data) with the new data; later callers get NoProcError', async () => {
    const seen: unknown[] = [];
    const m = defineMachine({
      name: 'stopper',
      init: () => ({ state: 's', data: 1 }),
      terminate: (reason, state, data) => {
        seen.push(reason, state, data);
      },
      states: { s: { cast: () => stop('normal', 2) } },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('bye');
    const late = ref.call('queued-after-the-stop');
    await expect(late).rejects.toBeInstanceOf(NoProcError);
    expect(seen).toEqual(['normal', 's', 2]);
    await expect(ref.call('after')).rejects.toBeInstanceOf(NoProcError);
    await system.shutdown();
  });

  it('stopAndReply sends the replies, then stops', async () => {
    const m = defineMachine({
      name: 'last-words',
      init: () => ({ state: 's', data: null }),
      states: { s: { call: (msg, _d, from) => stopAndReply('normal', [reply(from, `bye ${String(msg)}`)]) } },
    });
    const system = await testSystem();
    const stops: unknown[] = [];
    system.on('stop', (s) => stops.push(s.reason));
    const ref = await system.spawn(m);
    expect(await ref.call('you')).toBe('bye you');
    expect(stops).toEqual(['normal']);
    expect(system.has(ref.id)).toBe(false);
    await system.shutdown();
  });

  it('an abnormal stop reason is a crash: a caller still owed a reply gets ActorCrashedError carrying it', async () => {
    const m = defineMachine({
      name: 'quitter',
      init: () => ({ state: 's', data: null as unknown }),
      states: {
        s: {
          call: (_msg, _d, from) => keep(from), // hold the caller, answer later (or never)
          cast: () => stop({ error: 'quota_exhausted' }),
        },
      },
    });
    const system = await testSystem();
    const crashes: CrashEvent[] = [];
    system.on('crash', (c) => crashes.push(c));
    const ref = await system.spawn(m);
    const held = ref.call('hold');
    ref.cast('quit');
    const err = (await held.catch((e: unknown) => e)) as ActorCrashedError;
    expect(err).toBeInstanceOf(ActorCrashedError);
    expect(err.reason).toEqual({ error: 'quota_exhausted' });
    expect(crashes.map((c) => c.reason)).toEqual([{ error: 'quota_exhausted' }]);
    await system.shutdown();
  });
});

describe('crashes', () => {
  it('init that throws fails the spawn with InitError carrying the reason', async () => {
    const boom = new Error('no config');
    const m = defineMachine({
      name: 'bad-init',
      init: () => {
        throw boom;
      },
      states: { s: {} },
    });
    const system = await testSystem();
    const err = await system.spawn(m, { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InitError);
    expect((err as InitError).reason).toBe(boom);
    expect(system.has('x')).toBe(false);
    // The id is free again.
    const ok = defineMachine({ name: 'ok', init: () => ({ state: 's', data: null }), states: { s: {} } });
    await expect(system.spawn(ok, { id: 'x' })).resolves.toBeDefined();
    await system.shutdown();
  });

  it('async init that rejects fails the spawn the same way', async () => {
    const m = defineMachine({
      name: 'bad-async-init',
      init: async () => {
        await Promise.resolve();
        throw new Error('later');
      },
      states: { s: {} },
    });
    const system = await testSystem();
    await expect(system.spawn(m)).rejects.toBeInstanceOf(InitError);
    await system.shutdown();
  });

  it('a handler that throws crashes the actor: terminate runs with the error, the caller gets ActorCrashedError, crash is emitted', async () => {
    const boom = new Error('boom');
    const terminated: unknown[] = [];
    const m = defineMachine({
      name: 'thrower',
      init: () => ({ state: 's', data: 7 }),
      terminate: (reason, state, data) => {
        terminated.push(reason, state, data);
      },
      states: {
        s: {
          call: () => {
            throw boom;
          },
        },
      },
    });
    const system = await testSystem();
    const crashes: CrashEvent[] = [];
    system.on('crash', (c) => crashes.push(c));
    const ref = await system.spawn(m, { id: 't1', args: undefined });
    const queued = ref.call('second'); // behind the first: rejected when the actor dies
    const err = await ref.call('first').catch((e: unknown) => e);
    void err;
    const errs = await Promise.allSettled([queued]);
    expect(errs[0]?.status).toBe('rejected');
    const reason = (errs[0] as PromiseRejectedResult).reason as ActorCrashedError;
    expect(reason).toBeInstanceOf(ActorCrashedError);
    expect(reason.reason).toBe(boom);
    expect(terminated).toEqual([boom, 's', 7]);
    expect(crashes.map((c) => [c.id, c.machine, c.reason])).toEqual([['t1', 'thrower', boom]]);
    expect(system.has('t1')).toBe(false);
    await system.shutdown();
  });

  it('a terminate that throws makes its error the stop reason', async () => {
    const late = new Error('terminate failed');
    const m = defineMachine({
      name: 'bad-terminate',
      init: () => ({ state: 's', data: null }),
      terminate: () => {
        throw late;
      },
      states: { s: { cast: () => stop('normal') } },
    });
    const system = await testSystem();
    const crashes: CrashEvent[] = [];
    system.on('crash', (c) => crashes.push(c));
    const ref = await system.spawn(m);
    ref.cast('stop');
    await system.clock.advance(0);
    expect(crashes.map((c) => c.reason)).toEqual([late]);
    await system.shutdown();
  });

  it('an async terminate that never settles is cut off after terminateTimeout', async () => {
    const m = defineMachine({
      name: 'slow-terminate',
      init: () => ({ state: 's', data: null }),
      terminate: () => new Promise<void>(() => {}),
      states: { s: {} },
    });
    const system = await testSystem({ terminateTimeout: 1000 });
    const ref = await system.spawn(m);
    let stopped = false;
    void ref.stop().then(() => (stopped = true));
    await system.clock.advance(999);
    expect(stopped).toBe(false);
    await system.clock.advance(1);
    expect(stopped).toBe(true);
    await system.shutdown();
  });
});

describe('async handlers', () => {
  it('the actor takes no other event until the handler settles', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const m = defineMachine({
      name: 'async',
      init: () => ({ state: 's', data: [] as string[] }),
      states: {
        s: {
          cast: async (msg: string, log: string[]) => {
            if (msg === 'slow') await gate;
            return keep([...log, msg]);
          },
          call: (_m, log: string[], from) => keepAll([reply(from, log)]),
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('slow');
    ref.cast('fast');
    let answered: string[] | undefined;
    const call = ref.call('log').then((v) => (answered = v as string[]));
    await system.clock.advance(0);
    expect(answered).toBeUndefined();
    release();
    await call;
    expect(answered).toEqual(['slow', 'fast']);
    await system.shutdown();
  });

  it('an async handler that rejects crashes the actor', async () => {
    const m = defineMachine({
      name: 'async-crash',
      init: () => ({ state: 's', data: null }),
      states: {
        s: {
          call: async () => {
            await Promise.resolve();
            throw new Error('async boom');
          },
        },
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    const err = (await ref.call('x').catch((e: unknown) => e)) as ActorCrashedError;
    expect(err).toBeInstanceOf(ActorCrashedError);
    expect((err.reason as Error).message).toBe('async boom');
    await system.shutdown();
  });
});

describe('handleEvent machines', () => {
  it('see every event kind, tuple states compared by value, and the enter call with (old, new)', async () => {
    type E = { kind: string; msg: unknown; name?: string };
    const seen: string[] = [];
    const m = defineMachine({
      name: 'tuple',
      init: () => ({ state: ['idle', 0] as [string, number], data: null }),
      enter: (old, state) => {
        seen.push(`enter ${JSON.stringify(old)}->${JSON.stringify(state)}`);
        return keepAll();
      },
      handleEvent: (event: E, state: unknown) => {
        const [phase, n] = state as [string, number];
        seen.push(`${event.kind}:${String(event.msg)}${event.name ? `:${event.name}` : ''}`);
        if (event.kind === 'call') return keepAll([reply((event as unknown as { from: never }).from, state)]);
        if (event.msg === 'same') return next([phase, n], null); // equal by value: not a change
        if (event.msg === 'bump') return next([phase, n + 1], null, [stateTimeout(5, 'st'), nextEvent('internal', 'in')]);
        return keepAll();
      },
    });
    const system = await testSystem();
    const ref = await system.spawn(m);
    ref.cast('same');
    ref.cast('bump');
    ref.send('hi');
    await system.clock.advance(5);
    expect(await ref.call('state')).toEqual(['idle', 1]);
    expect(seen).toEqual([
      'enter ["idle",0]->["idle",0]',
      'cast:same',
      'cast:bump',
      'enter ["idle",0]->["idle",1]',
      'internal:in',
      'info:hi',
      'state_timeout:st',
      'call:state',
    ]);
    await system.shutdown();
  });
});
