/**
 * Results, enter calls, stopping and crashing: what each result does, when the state-enter call
 * runs (state change and repeat, never keep), terminate, and crashes in init, a handler,
 * an enter call and terminate.
 */
import { describe, expect, it } from 'vitest';
import { ActorCrashedError, type CrashEvent, InitError, InvalidResultError, NoProcError } from 'threadstate';
import {
  asyncCrash,
  asyncHandler,
  badAsyncInit,
  badInit,
  badTerminate,
  bentNext,
  bentPostpone,
  boom,
  enterer,
  lastWords,
  noConfig,
  ok,
  quitter,
  rep,
  slowTerminate,
  stopper,
  terminateFailed,
  thrower,
  tuple,
} from './fixtures/results.js';
import { expectSameError, sharedSystem, spawnGate, spawnObserver, testSystem, WORKERS } from './helpers.js';

describe.each(WORKERS)('results (workers: %i)', (workers) => {
  const sys = sharedSystem(workers);

  describe('enter calls', () => {
    it('runs for the initial state with oldState = the state itself, on state changes, and on repeat — never on keep', async () => {
      const ref = await sys().spawn(enterer);
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
    });

    it("appends its actions after the transition's (the last timeout of a kind wins)", async () => {
      const system = sys();
      const ref = await system.spawn(enterer);
      ref.cast('go'); // b's enter arms state timeout 100
      await system.clock.advance(100);
      expect((await ref.call<string[]>('log')).slice(-1)).toEqual(['b:state_timeout:from-enter']);
    });

    it('may not change state, postpone or insert events: the actor crashes with InvalidResultError', async () => {
      const system = sys();
      for (const bent of [bentNext, bentPostpone]) {
        const crashes: CrashEvent[] = [];
        const ref = await system.spawn(bent);
        system.on('crash', (c) => {
          if (c.id === ref.id) crashes.push(c);
        });
        ref.cast('go');
        await system.clock.advance(0);
        expect(crashes).toHaveLength(1);
        expect(crashes[0]?.reason).toBeInstanceOf(InvalidResultError);
        expect(system.has(ref.id)).toBe(false);
      }
    });

    it('an enter call may repeat itself (until it keeps)', async () => {
      const ref = await sys().spawn(rep);
      expect(await ref.call('n')).toBe(3);
    });
  });

  describe('stop and stopAndReply', () => {
    it('stop runs terminate(reason, state, data) with the new data; later callers get NoProcError', async () => {
      const system = sys();
      const observer = await spawnObserver(system);
      const ref = await system.spawn(stopper, { args: observer.ref });
      ref.cast('bye');
      const late = ref.call('queued-after-the-stop');
      await expect(late).rejects.toBeInstanceOf(NoProcError);
      expect(await observer.entries()).toEqual([['normal', 's', 2]]);
      await expect(ref.call('after')).rejects.toBeInstanceOf(NoProcError);
    });

    it('stopAndReply sends the replies, then stops', async () => {
      const system = sys();
      const stops: unknown[] = [];
      const ref = await system.spawn(lastWords);
      system.on('stop', (s) => {
        if (s.id === ref.id) stops.push(s.reason);
      });
      expect(await ref.call('you')).toBe('bye you');
      expect(stops).toEqual(['normal']);
      expect(system.has(ref.id)).toBe(false);
    });

    it('an abnormal stop reason is a crash: a caller still owed a reply gets ActorCrashedError carrying it', async () => {
      const system = sys();
      const crashes: CrashEvent[] = [];
      const ref = await system.spawn(quitter);
      system.on('crash', (c) => {
        if (c.id === ref.id) crashes.push(c);
      });
      const held = ref.call('hold');
      ref.cast('quit');
      const err = (await held.catch((e: unknown) => e)) as ActorCrashedError;
      expect(err).toBeInstanceOf(ActorCrashedError);
      expect(err.reason).toEqual({ error: 'quota_exhausted' });
      expect(crashes.map((c) => c.reason)).toEqual([{ error: 'quota_exhausted' }]);
    });
  });

  describe('crashes', () => {
    it('init that throws fails the spawn with InitError carrying the reason', async () => {
      const system = sys();
      const err = await system.spawn(badInit, { id: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InitError);
      expectSameError(system, (err as InitError).reason, noConfig);
      expect(system.has('x')).toBe(false);
      // The id is free again.
      await expect(system.spawn(ok, { id: 'x' })).resolves.toBeDefined();
    });

    it('async init that rejects fails the spawn the same way', async () => {
      await expect(sys().spawn(badAsyncInit)).rejects.toBeInstanceOf(InitError);
    });

    it('a handler that throws crashes the actor: terminate runs with the error, the caller gets ActorCrashedError, crash is emitted', async () => {
      const system = sys();
      const observer = await spawnObserver(system);
      const crashes: CrashEvent[] = [];
      system.on('crash', (c) => crashes.push(c));
      const ref = await system.spawn(thrower, { id: 't1', args: observer.ref });
      const queued = ref.call('second'); // behind the first: rejected when the actor dies
      const err = await ref.call('first').catch((e: unknown) => e);
      void err;
      const errs = await Promise.allSettled([queued]);
      expect(errs[0]?.status).toBe('rejected');
      const reason = (errs[0] as PromiseRejectedResult).reason as ActorCrashedError;
      expect(reason).toBeInstanceOf(ActorCrashedError);
      expectSameError(system, reason.reason, boom);
      const terminated = (await observer.entries()) as unknown[][];
      expect(terminated).toHaveLength(1);
      const [terminateReason, ...rest] = terminated[0] as unknown[];
      expectSameError(system, terminateReason, boom);
      expect(rest).toEqual(['s', 7]);
      expect(crashes.map((c) => [c.id, c.machine])).toEqual([['t1', 'thrower']]);
      expectSameError(system, crashes[0]?.reason, boom);
      expect(system.has('t1')).toBe(false);
    });

    it('a terminate that throws makes its error the stop reason', async () => {
      const system = sys();
      const crashes: CrashEvent[] = [];
      const ref = await system.spawn(badTerminate);
      system.on('crash', (c) => {
        if (c.id === ref.id) crashes.push(c);
      });
      ref.cast('stop');
      await system.clock.advance(0);
      expect(crashes).toHaveLength(1);
      expectSameError(system, crashes[0]?.reason, terminateFailed);
    });

    it('an async terminate that never settles is cut off after terminateTimeout', async () => {
      const system = await testSystem({ workers, terminateTimeout: 1000 });
      try {
        const ref = await system.spawn(slowTerminate);
        let stopped = false;
        void ref.stop().then(() => (stopped = true));
        await system.clock.advance(999);
        expect(stopped).toBe(false);
        await system.clock.advance(1);
        expect(stopped).toBe(true);
      } finally {
        await system.shutdown();
      }
    });
  });

  describe('async handlers', () => {
    it('the actor takes no other event until the handler settles', async () => {
      const system = sys();
      const gate = await spawnGate(system);
      const ref = await system.spawn(asyncHandler, { args: gate.ref });
      ref.cast('slow');
      ref.cast('fast');
      let answered: string[] | undefined;
      const call = ref.call('log').then((v) => (answered = v as string[]));
      await system.clock.advance(0);
      expect(answered).toBeUndefined();
      gate.open();
      await call;
      expect(answered).toEqual(['slow', 'fast']);
    });

    it('an async handler that rejects crashes the actor', async () => {
      const ref = await sys().spawn(asyncCrash);
      const err = (await ref.call('x').catch((e: unknown) => e)) as ActorCrashedError;
      expect(err).toBeInstanceOf(ActorCrashedError);
      expect((err.reason as Error).message).toBe('async boom');
    });
  });

  describe('handleEvent machines', () => {
    it('see every event kind, tuple states compared by value, and the enter call with (old, new)', async () => {
      const system = sys();
      const observer = await spawnObserver(system);
      const ref = await system.spawn(tuple, { args: observer.ref });
      ref.cast('same');
      ref.cast('bump');
      ref.send('hi');
      await system.clock.advance(5);
      expect(await ref.call('state')).toEqual(['idle', 1]);
      expect(await observer.entries()).toEqual([
        'enter ["idle",0]->["idle",0]',
        'cast:same',
        'cast:bump',
        'enter ["idle",0]->["idle",1]',
        'internal:in',
        'info:hi',
        'state_timeout:st',
        'call:state',
      ]);
    });
  });
});
