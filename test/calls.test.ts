/**
 * System-level tests of calls: timeouts, late replies, abort signals, calling yourself, calls
 * between actors, replies from a later state, and what callers hear when their actor goes away.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  type ActorRef,
  type ActorSystem,
  CallingSelfError,
  CallTimeoutError,
  type CrashEvent,
  defineMachine,
  type From,
  keep,
  keepAll,
  next,
  NoProcError,
  reply,
  type Result,
  stop,
  type SystemOptions,
} from 'threadstate';
import { flush, testSystem } from './helpers.js';

const systems: ActorSystem[] = [];
async function sys(opts: SystemOptions = {}): Promise<ActorSystem> {
  // A short shutdown timeout: some actors here are stuck in a handler for ever on purpose.
  const s = await testSystem({ shutdownTimeout: 50, ...opts });
  systems.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.shutdown()));
});

/** Observes a promise's outcome without awaiting it. */
function track<T>(p: Promise<T>): { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } {
  const t: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  p.then(
    (value) => {
      t.state = 'fulfilled';
      t.value = value;
    },
    (error: unknown) => {
      t.state = 'rejected';
      t.error = error;
    },
  );
  return t;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** Its call handler never settles. */
const never = defineMachine({
  name: 'never',
  init: () => ({ state: 'stuck', data: null }),
  states: {
    stuck: {
      call: () => new Promise<never>(() => {}),
    },
  },
});

type HolderData = { from: From | null; pings: number };
/** 'hold' keeps the caller's `from` without replying; a cast 'release' replies to it later. */
const holder = defineMachine({
  name: 'holder',
  init: () => ({ state: 'idle', data: { from: null, pings: 0 } as HolderData }),
  states: {
    idle: {
      call: (msg: string, data: HolderData, from) => {
        if (msg === 'hold') return keep({ ...data, from });
        return keep({ ...data, pings: data.pings + 1 }, [reply(from, `pong ${data.pings + 1}`)]);
      },
      cast: (msg: string, data: HolderData) => {
        if (msg === 'crash') throw new Error('holder crashed');
        if (msg === 'release' && data.from !== null) return keep({ ...data, from: null }, [reply(data.from, 'late reply')]);
        return keepAll();
      },
    },
  },
});

describe('call timeouts', () => {
  it('the default timeout is 5000 ms: still waiting at 4999, CallTimeoutError at 5000', async () => {
    const system = await sys();
    const ref = await system.spawn(never, { id: 'n' });
    const t = track(ref.call('anything'));
    await system.clock.advance(4999);
    expect(t.state).toBe('pending');
    await system.clock.advance(1);
    expect(t.state).toBe('rejected');
    expect(t.error).toBeInstanceOf(CallTimeoutError);
    const err = t.error as CallTimeoutError;
    expect(err.code).toBe('call_timeout');
    expect(err.target).toBe('n');
    expect(err.timeoutMs).toBe(5000);
  });

  it('a custom { timeout } replaces the default', async () => {
    const system = await sys();
    const ref = await system.spawn(never);
    const short = track(ref.call('a', { timeout: 100 }));
    const long = track(ref.call('b', { timeout: 8000 }));
    await system.clock.advance(99);
    expect(short.state).toBe('pending');
    await system.clock.advance(1);
    expect(short.state).toBe('rejected');
    expect((short.error as CallTimeoutError).timeoutMs).toBe(100);
    // The default (5000) does not apply to a call that asked for 8000.
    await system.clock.advance(5000);
    expect(long.state).toBe('pending');
    await system.clock.advance(2900);
    expect(long.state).toBe('rejected');
    expect(long.error).toBeInstanceOf(CallTimeoutError);
    expect((long.error as CallTimeoutError).timeoutMs).toBe(8000);
  });

  it('the system-wide callTimeout option changes the default', async () => {
    const system = await sys({ callTimeout: 300 });
    const ref = await system.spawn(never);
    const t = track(ref.call('x'));
    await system.clock.advance(299);
    expect(t.state).toBe('pending');
    await system.clock.advance(1);
    expect(t.error).toBeInstanceOf(CallTimeoutError);
  });

  it('timeout: Infinity waits for ever', async () => {
    const system = await sys();
    const ref = await system.spawn(holder);
    const t = track(ref.call('hold', { timeout: Infinity }));
    await system.clock.advance(24 * 3600 * 1000);
    expect(t.state).toBe('pending');
    ref.cast('release');
    await flush();
    expect(t.state).toBe('fulfilled');
    expect(t.value).toBe('late reply');
  });

  it('a reply after the caller gave up is dropped; the actor keeps working', async () => {
    const system = await sys();
    const crashes: CrashEvent[] = [];
    system.on('crash', (e) => crashes.push(e));
    const ref = await system.spawn(holder, { id: 'h' });
    const t = track(ref.call('hold', { timeout: 100 }));
    await system.clock.advance(100);
    expect(t.error).toBeInstanceOf(CallTimeoutError);
    ref.cast('release'); // replies to a caller that already gave up
    await flush();
    expect(t.state).toBe('rejected'); // unchanged: the late reply went nowhere
    expect(crashes).toEqual([]);
    expect(system.has('h')).toBe(true);
    expect(await ref.call('ping')).toBe('pong 1');
  });
});

describe('AbortSignal', () => {
  it('an already aborted signal rejects with its reason', async () => {
    const system = await sys();
    const ref = await system.spawn(holder);
    const c = new AbortController();
    const why = new Error('not any more');
    c.abort(why);
    expect(await rejection(ref.call('ping', { signal: c.signal }))).toBe(why);
    // The actor is fine.
    expect(await ref.call('ping')).toMatch(/^pong/);
  });

  it('a call with an already aborted signal is not delivered: the handler never sees it', async () => {
    const seen: unknown[] = [];
    const recorder = defineMachine({
      name: 'recorder',
      init: () => ({ state: 's', data: null }),
      states: {
        s: {
          call: (msg: unknown, _d, from) => {
            seen.push(msg);
            return keepAll([reply(from, 'done')]);
          },
        },
      },
    });
    const system = await sys();
    const ref = await system.spawn(recorder);
    const c = new AbortController();
    c.abort(new Error('cancelled before sending'));
    await rejection(ref.call('withdraw 100', { signal: c.signal }));
    expect(await ref.call('after')).toBe('done');
    // The caller was told the call was aborted; the actor must not have acted on it.
    expect(seen).toEqual(['after']);
  });

  it('aborting mid-call rejects with the reason, before the timeout', async () => {
    const system = await sys();
    const ref = await system.spawn(holder);
    const c = new AbortController();
    const t = track(ref.call('hold', { signal: c.signal }));
    await system.clock.advance(1000);
    expect(t.state).toBe('pending');
    const why = { because: 'user left' };
    c.abort(why);
    await flush();
    expect(t.state).toBe('rejected');
    expect(t.error).toBe(why);
    // The actor replies later: dropped, nothing breaks.
    ref.cast('release');
    expect(await ref.call('ping')).toBe('pong 1');
  });

  it('abort() without a reason rejects with an AbortError', async () => {
    const system = await sys();
    const ref = await system.spawn(never);
    const c = new AbortController();
    const p = ref.call('x', { signal: c.signal });
    c.abort();
    const err = await rejection(p);
    expect((err as Error).name).toBe('AbortError');
    expect(err).toBe(c.signal.reason);
  });

  it('a signal aborted after the reply changes nothing', async () => {
    const system = await sys();
    const ref = await system.spawn(holder);
    const c = new AbortController();
    expect(await ref.call('ping', { signal: c.signal })).toBe('pong 1');
    c.abort(new Error('too late'));
    await flush();
    expect(await ref.call('ping')).toBe('pong 2');
  });
});

describe('calls from actors', () => {
  it('ctx.call(ctx.self, …) rejects with CallingSelfError (by ref and by id)', async () => {
    const selfCaller = defineMachine({
      name: 'self_caller',
      init: () => ({ state: 's', data: null }),
      states: {
        s: {
          call: async (how: 'ref' | 'id', _d, from, ctx) => {
            try {
              await ctx.call(how === 'ref' ? ctx.self : ctx.id, 'hello', { timeout: 100 });
              return keepAll([reply(from, 'no error')]);
            } catch (err) {
              return keepAll([reply(from, err)]);
            }
          },
        },
      },
    });
    const system = await sys();
    const ref = await system.spawn(selfCaller, { id: 'narcissus' });
    for (const how of ['ref', 'id'] as const) {
      const err = await ref.call(how);
      expect(err).toBeInstanceOf(CallingSelfError);
      expect((err as CallingSelfError).code).toBe('calling_self');
      expect((err as CallingSelfError).actor).toBe('narcissus');
    }
  });

  it('an async handler awaits ctx.call to another actor, then replies', async () => {
    const store = defineMachine({
      name: 'store',
      init: (n: number) => ({ state: 's', data: n }),
      states: {
        s: {
          call: (msg: 'get', n: number, from) => keepAll([reply(from, n)]),
          cast: (by: number, n: number) => keep(n + by),
        },
      },
    });
    const front = defineMachine({
      name: 'front',
      init: (backend: ActorRef) => ({ state: 's', data: backend }),
      states: {
        s: {
          call: async (msg: 'byRef' | 'byId', backend: ActorRef, from, ctx) => {
            const v = await ctx.call<number>(msg === 'byRef' ? backend : backend.id, 'get');
            ctx.cast(backend, 1);
            return keepAll([reply(from, v * 10)]);
          },
        },
      },
    });
    const system = await sys();
    const back = await system.spawn(store, { id: 'back', args: 4 });
    const f = await system.spawn(front, { args: back });
    expect(await f.call('byRef')).toBe(40);
    expect(await f.call('byId')).toBe(50);
    expect(await back.call('get')).toBe(6);
  });

  it('a call from an actor to a missing actor rejects with NoProcError inside the handler', async () => {
    const asker = defineMachine({
      name: 'asker',
      init: () => ({ state: 's', data: null }),
      states: {
        s: {
          call: async (target: string, _d, from, ctx) => {
            try {
              return keepAll([reply(from, await ctx.call(target, 'hi'))]);
            } catch (err) {
              return keepAll([reply(from, err)]);
            }
          },
        },
      },
    });
    const system = await sys();
    const a = await system.spawn(asker);
    const err = await a.call('ghost');
    expect(err).toBeInstanceOf(NoProcError);
    expect((err as NoProcError).target).toBe('ghost');
  });
});

describe('replying later', () => {
  type D = { from: From | null };
  const job = defineMachine({
    name: 'job',
    init: () => ({ state: 'idle', data: { from: null } as D }),
    transitions: { idle: ['working'], working: ['done'], done: ['idle'] },
    states: {
      idle: {
        call: (_msg: 'start', _d: D, from) => next('working', { from }),
      },
      working: {
        cast: (msg: string, d: D) => (msg === 'finish' ? next('done', d) : keepAll()),
        call: (_msg, _d, from) => keepAll([reply(from, 'busy')]),
      },
      done: {
        // The reply goes out from the enter call of a later state.
        enter: (_old, d: D) => keep({ from: null }, [reply(d.from as From, 'finished')]),
        call: (_msg, _d, from) => next('idle', { from: null }, [reply(from, 'reset')]),
      },
    },
  });

  it('keeps `from`, changes state, and replies from a later state', async () => {
    const system = await sys();
    const ref = await system.spawn(job, { id: 'j' });
    const t = track(ref.call('start'));
    await flush();
    expect(await system.stateOf('j')).toBe('working');
    expect(t.state).toBe('pending');
    expect(await ref.call('status?')).toBe('busy'); // other callers are served meanwhile
    ref.cast('finish');
    await flush();
    expect(await system.stateOf('j')).toBe('done');
    expect(t.state).toBe('fulfilled');
    expect(t.value).toBe('finished');
    expect(await ref.call('again')).toBe('reset');
  });

  it('a reply from a cast handler in a later state (state functions keep the handle across states)', async () => {
    type D2 = { from: From | null };
    const m = defineMachine({
      name: 'two_step',
      init: () => ({ state: 'a', data: { from: null } as D2 }),
      states: {
        a: { call: (_m, _d: D2, from) => next('b', { from }) },
        b: { cast: (v: number, d: D2) => next('a', { from: null }, [reply(d.from as From, v * 2)]) },
      },
    });
    const system = await sys();
    const ref = await system.spawn(m);
    const p = ref.call('go');
    await flush();
    ref.cast(21);
    expect(await p).toBe(42);
  });
});

describe('callers whose actor goes away', () => {
  it('NoProcError for an unknown id', async () => {
    const system = await sys();
    const err = await rejection(system.ref('nope').call('x'));
    expect(err).toBeInstanceOf(NoProcError);
    expect((err as NoProcError).code).toBe('noproc');
    expect((err as NoProcError).target).toBe('nope');
  });

  it('NoProcError for a stopped actor (old ref and fresh ref)', async () => {
    const system = await sys();
    const ref = await system.spawn(holder, { id: 'gone' });
    expect(await ref.call('ping')).toBe('pong 1');
    await ref.stop();
    expect(await rejection(ref.call('ping'))).toBeInstanceOf(NoProcError);
    expect(await rejection(system.ref('gone').call('ping'))).toBeInstanceOf(NoProcError);
  });

  type GateData = { gate: Promise<'crash' | 'normal' | 'custom'> };
  const boom = new Error('boom');
  /** A cast parks the actor until the gate opens; then it crashes, stops normally, or stops with a custom reason. */
  const gated = defineMachine({
    name: 'gated',
    init: (gate: GateData['gate']) => ({ state: 's', data: { gate } as GateData }),
    states: {
      s: {
        cast: async (_m, d: GateData): Promise<Result> => {
          const how = await d.gate;
          if (how === 'crash') throw boom;
          return stop(how === 'normal' ? 'normal' : { custom: 'reason' });
        },
        call: (_m, _d, from) => keepAll([reply(from, 'answered')]),
      },
    },
  });

  function gate(): { promise: GateData['gate']; open: (how: 'crash' | 'normal' | 'custom') => void } {
    let open!: (how: 'crash' | 'normal' | 'custom') => void;
    const promise = new Promise<'crash' | 'normal' | 'custom'>((r) => (open = r));
    return { promise, open };
  }

  it('callers queued behind a crash get ActorCrashedError with the reason', async () => {
    const system = await sys();
    const g = gate();
    const ref = await system.spawn(gated, { id: 'g', args: g.promise });
    ref.cast('park');
    await flush();
    const calls = [track(ref.call(1)), track(ref.call(2)), track(ref.call(3))];
    await flush();
    expect(calls.map((c) => c.state)).toEqual(['pending', 'pending', 'pending']);
    g.open('crash');
    await flush();
    for (const c of calls) {
      expect(c.state).toBe('rejected');
      expect(c.error).toBeInstanceOf(ActorCrashedError);
      expect((c.error as ActorCrashedError).code).toBe('actor_crashed');
      expect((c.error as ActorCrashedError).reason).toBe(boom);
      expect((c.error as ActorCrashedError).actor).toBe('g');
    }
  });

  it('callers queued behind a normal stop get NoProcError', async () => {
    const system = await sys();
    const g = gate();
    const ref = await system.spawn(gated, { args: g.promise });
    ref.cast('park');
    await flush();
    const calls = [track(ref.call(1)), track(ref.call(2))];
    g.open('normal');
    await flush();
    for (const c of calls) expect(c.error).toBeInstanceOf(NoProcError);
  });

  it('a stop with an abnormal (non-Error) reason is a crash for the callers', async () => {
    const system = await sys();
    const g = gate();
    const ref = await system.spawn(gated, { args: g.promise });
    ref.cast('park');
    await flush();
    const c = track(ref.call(1));
    g.open('custom');
    await flush();
    expect(c.error).toBeInstanceOf(ActorCrashedError);
    expect((c.error as ActorCrashedError).reason).toEqual({ custom: 'reason' });
  });

  it('a caller whose call was taken (from stored) hears of a crash at once, not at its timeout', async () => {
    const system = await sys();
    const crashes: CrashEvent[] = [];
    system.on('crash', (e) => crashes.push(e));
    const ref = await system.spawn(holder, { id: 'taker' });
    const t = track(ref.call('hold', { timeout: 60_000 }));
    await flush();
    expect(t.state).toBe('pending');
    const before = system.clock.now();
    ref.cast('crash');
    await flush();
    expect(system.clock.now()).toBe(before); // no virtual time passed
    expect(t.state).toBe('rejected');
    expect(t.error).toBeInstanceOf(ActorCrashedError);
    const reason = (t.error as ActorCrashedError).reason as Error;
    expect(reason).toBeInstanceOf(Error);
    expect(reason.message).toBe('holder crashed');
    expect(crashes).toHaveLength(1);
    expect(crashes[0]?.reason).toBe(reason);
  });

  it('a caller whose call was taken hears NoProcError at once when the actor is stopped normally', async () => {
    const system = await sys();
    const ref = await system.spawn(holder);
    const t = track(ref.call('hold', { timeout: 60_000 }));
    await flush();
    await ref.stop();
    expect(t.state).toBe('rejected');
    expect(t.error).toBeInstanceOf(NoProcError);
  });
});
