/**
 * System-level tests of calls: timeouts, late replies, abort signals, calling yourself, calls
 * between actors, replies from a later state, and what callers hear when their actor goes away.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  type ActorSystem,
  CallingSelfError,
  CallTimeoutError,
  type CrashEvent,
  NoProcError,
  type SystemOptions,
} from 'threadstate';
import { asker, front, gated, gatedBoom, holder, job, never, recorder, selfCaller, store, twoStep } from './fixtures/calls.js';
import { expectSameError, rejection, settle, sharedSystem, spawnGate, spawnObserver, testSystem, WORKERS } from './helpers.js';

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

describe.each(WORKERS)('calls (workers: %i)', (workers) => {
  // One system shared by the tests (with a short shutdown timeout: some actors here are stuck in a
  // handler for ever on purpose); a test that needs other options gets its own.
  const shared = sharedSystem(workers);
  const own: ActorSystem[] = [];
  async function sys(opts?: SystemOptions): Promise<ActorSystem> {
    if (opts === undefined) return shared();
    const s = await testSystem({ workers, shutdownTimeout: 50, ...opts });
    own.push(s);
    return s;
  }
  afterEach(async () => {
    await Promise.all(own.splice(0).map((s) => s.shutdown()));
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
      await settle(system);
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
      await settle(system);
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
      const system = await sys();
      const observer = await spawnObserver(system);
      const ref = await system.spawn(recorder, { args: observer.ref });
      const c = new AbortController();
      c.abort(new Error('cancelled before sending'));
      await rejection(ref.call('withdraw 100', { signal: c.signal }));
      expect(await ref.call('after')).toBe('done');
      // The caller was told the call was aborted; the actor must not have acted on it.
      expect(await observer.entries()).toEqual(['after']);
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
      await settle(system);
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
      await settle(system);
      expect(await ref.call('ping')).toBe('pong 2');
    });
  });

  describe('calls from actors', () => {
    it('ctx.call(ctx.self, …) rejects with CallingSelfError (by ref and by id)', async () => {
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
      const system = await sys();
      const back = await system.spawn(store, { id: 'back', args: 4 });
      const f = await system.spawn(front, { args: back });
      expect(await f.call('byRef')).toBe(40);
      expect(await f.call('byId')).toBe(50);
      expect(await back.call('get')).toBe(6);
    });

    it('a call from an actor to a missing actor rejects with NoProcError inside the handler', async () => {
      const system = await sys();
      const a = await system.spawn(asker);
      const err = await a.call('ghost');
      expect(err).toBeInstanceOf(NoProcError);
      expect((err as NoProcError).target).toBe('ghost');
    });
  });

  describe('replying later', () => {
    it('keeps `from`, changes state, and replies from a later state', async () => {
      const system = await sys();
      const ref = await system.spawn(job, { id: 'j' });
      const t = track(ref.call('start'));
      await settle(system);
      expect(await system.stateOf('j')).toBe('working');
      expect(t.state).toBe('pending');
      expect(await ref.call('status?')).toBe('busy'); // other callers are served meanwhile
      ref.cast('finish');
      await settle(system);
      expect(await system.stateOf('j')).toBe('done');
      expect(t.state).toBe('fulfilled');
      expect(t.value).toBe('finished');
      expect(await ref.call('again')).toBe('reset');
    });

    it('a reply from a cast handler in a later state (state functions keep the handle across states)', async () => {
      const system = await sys();
      const ref = await system.spawn(twoStep);
      const p = ref.call('go');
      await settle(system);
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

    it('callers queued behind a crash get ActorCrashedError with the reason', async () => {
      const system = await sys();
      const g = await spawnGate(system);
      const ref = await system.spawn(gated, { id: 'g', args: g.ref });
      ref.cast('park');
      await settle(system);
      const calls = [track(ref.call(1)), track(ref.call(2)), track(ref.call(3))];
      await settle(system);
      expect(calls.map((c) => c.state)).toEqual(['pending', 'pending', 'pending']);
      g.open('crash');
      await settle(system);
      for (const c of calls) {
        expect(c.state).toBe('rejected');
        expect(c.error).toBeInstanceOf(ActorCrashedError);
        expect((c.error as ActorCrashedError).code).toBe('actor_crashed');
        expectSameError(system, (c.error as ActorCrashedError).reason, gatedBoom);
        expect((c.error as ActorCrashedError).actor).toBe('g');
      }
    });

    it('callers queued behind a normal stop get NoProcError', async () => {
      const system = await sys();
      const g = await spawnGate(system);
      const ref = await system.spawn(gated, { args: g.ref });
      ref.cast('park');
      await settle(system);
      const calls = [track(ref.call(1)), track(ref.call(2))];
      g.open('normal');
      await settle(system);
      for (const c of calls) expect(c.error).toBeInstanceOf(NoProcError);
    });

    it('a stop with an abnormal (non-Error) reason is a crash for the callers', async () => {
      const system = await sys();
      const g = await spawnGate(system);
      const ref = await system.spawn(gated, { args: g.ref });
      ref.cast('park');
      await settle(system);
      const c = track(ref.call(1));
      g.open('custom');
      await settle(system);
      expect(c.error).toBeInstanceOf(ActorCrashedError);
      expect((c.error as ActorCrashedError).reason).toEqual({ custom: 'reason' });
    });

    it('a caller whose call was taken (from stored) hears of a crash at once, not at its timeout', async () => {
      const system = await sys();
      const crashes: CrashEvent[] = [];
      system.on('crash', (e) => crashes.push(e));
      const ref = await system.spawn(holder, { id: 'taker' });
      const t = track(ref.call('hold', { timeout: 60_000 }));
      await settle(system);
      expect(t.state).toBe('pending');
      const before = system.clock.now();
      ref.cast('crash');
      await settle(system);
      expect(system.clock.now()).toBe(before); // no virtual time passed
      expect(t.state).toBe('rejected');
      expect(t.error).toBeInstanceOf(ActorCrashedError);
      const reason = (t.error as ActorCrashedError).reason as Error;
      expect(reason).toBeInstanceOf(Error);
      expect(reason.message).toBe('holder crashed');
      expect(crashes).toHaveLength(1);
      expectSameError(system, crashes[0]?.reason, reason);
    });

    it('a caller whose call was taken hears NoProcError at once when the actor is stopped normally', async () => {
      const system = await sys();
      const ref = await system.spawn(holder);
      const t = track(ref.call('hold', { timeout: 60_000 }));
      await settle(system);
      await ref.stop();
      expect(t.state).toBe('rejected');
      expect(t.error).toBeInstanceOf(NoProcError);
    });
  });
});
