/**
 * The async request API: sendRequest / check / wait, and RequestSet for several at once.
 */
import { describe, expect, it } from 'vitest';
import { ActorCrashedError, CallTimeoutError, NoProcError, Request, RequestSet } from 'threadstate';
import { echo } from './fixtures/requests.js';
import { rejection, settle, sharedSystem, WORKERS } from './helpers.js';

/** Runs `body` and returns the unhandled promise rejections Node reported meanwhile. */
async function unhandledRejectionsDuring(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', listener);
  try {
    await body();
  } finally {
    process.off('unhandledRejection', listener);
  }
  return unhandled;
}

describe.each(WORKERS)('requests (workers: %i)', (workers) => {
  const sys = sharedSystem(workers);

  describe('Request', () => {
    it('sendRequest returns a Request; check() is pending before the actor runs and ok after', async () => {
      const system = sys();
      const ref = await system.spawn(echo, { id: 'e' });
      const req = ref.sendRequest<string>('hello');
      expect(req).toBeInstanceOf(Request);
      expect(req.target).toBe('e');
      expect(req.check()).toEqual({ status: 'pending' });
      expect(req.settled).toBe(false);
      await settle(system);
      expect(req.check()).toEqual({ status: 'ok', value: 'hello' });
      expect(req.settled).toBe(true);
      expect(await req.wait()).toBe('hello');
    });

    it('wait() resolves with the reply when it comes', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const req = ref.sendRequest<number>({ hold: 'k' });
      let got: number | undefined;
      const waiting = req.wait().then((v) => (got = v));
      await system.clock.advance(1000);
      expect(got).toBeUndefined();
      ref.cast({ release: 'k', value: 7 });
      await waiting;
      expect(got).toBe(7);
    });

    it('wait({ timeout }) gives up with CallTimeoutError, but the request stays pending and can still succeed', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const req = ref.sendRequest<string>({ hold: 'slow' }); // its own timeout: the default 5000
      let waitError: unknown;
      const waiting = req.wait({ timeout: 100 }).catch((e: unknown) => (waitError = e));
      await system.clock.advance(99);
      expect(waitError).toBeUndefined();
      await system.clock.advance(1);
      await waiting;
      expect(waitError).toBeInstanceOf(CallTimeoutError);
      expect((waitError as CallTimeoutError).timeoutMs).toBe(100);
      expect(req.check()).toEqual({ status: 'pending' });
      await system.clock.advance(1000);
      ref.cast({ release: 'slow', value: 'eventually' });
      await settle(system);
      expect(req.check()).toEqual({ status: 'ok', value: 'eventually' });
      expect(await req.wait({ timeout: 100 })).toBe('eventually');
    });

    it("the request's own timeout (sendRequest option) settles it with CallTimeoutError", async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const req = ref.sendRequest({ hold: 'x' }, { timeout: 250 });
      const waited = rejection(req.wait({ timeout: 10_000 }));
      await system.clock.advance(250);
      const err = await waited;
      expect(err).toBeInstanceOf(CallTimeoutError);
      expect((err as CallTimeoutError).timeoutMs).toBe(250);
      const status = req.check();
      expect(status.status).toBe('error');
      // A reply after that is dropped.
      ref.cast({ release: 'x', value: 'late' });
      await settle(system);
      expect(req.check()).toEqual(status); // still the same error
    });

    it('a request to an unknown actor is { status: "error" } with NoProcError at once', async () => {
      const system = sys();
      const req = system.ref('nobody').sendRequest('hi');
      const status = req.check();
      expect(status.status).toBe('error');
      expect(status.status === 'error' && status.error).toBeInstanceOf(NoProcError);
      expect(await rejection(req.wait())).toBeInstanceOf(NoProcError);
    });

    it('a request whose actor crashes settles with ActorCrashedError', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const req = ref.sendRequest({ hold: 'h' });
      await settle(system);
      ref.cast('crash');
      await settle(system);
      const status = req.check();
      expect(status.status).toBe('error');
      if (status.status === 'error') {
        expect(status.error).toBeInstanceOf(ActorCrashedError);
        expect(((status.error as ActorCrashedError).reason as Error).message).toBe('echo crashed');
      }
    });

    it('an unawaited request that times out or fails causes no unhandled rejection', async () => {
      const unhandled = await unhandledRejectionsDuring(async () => {
        const system = sys();
        const ref = await system.spawn(echo);
        const timedOut = ref.sendRequest({ hold: 'forgotten' });
        const noProc = system.ref('ghost').sendRequest('x');
        const other = await system.spawn(echo);
        const crashed = other.sendRequest({ hold: 'c' });
        await settle(system);
        other.cast('crash');
        await system.clock.advance(5000);
        // Let Node report unhandled rejections, if there were any (they are reported after microtasks drain).
        await settle(system, 5);
        await new Promise((r) => setTimeout(r, 20));
        expect(timedOut.check().status).toBe('error');
        expect(noProc.check().status).toBe('error');
        expect(crashed.check().status).toBe('error');
      });
      expect(unhandled).toEqual([]);
    });

    it('a wait({ timeout }) that gave up causes no unhandled rejection when the request later fails', async () => {
      const unhandled = await unhandledRejectionsDuring(async () => {
        const system = sys();
        const ref = await system.spawn(echo);
        const req = ref.sendRequest({ hold: 'y' }, { timeout: 1000 });
        const gaveUp = rejection(req.wait({ timeout: 10 }));
        await system.clock.advance(10);
        expect(await gaveUp).toBeInstanceOf(CallTimeoutError);
        expect(req.check().status).toBe('pending');
        await system.clock.advance(990); // the request itself times out now, with nobody waiting
        await settle(system, 5);
        await new Promise((r) => setTimeout(r, 20));
        expect(req.check().status).toBe('error');
      });
      expect(unhandled).toEqual([]);
    });
  });

  describe('RequestSet', () => {
    it('waitAny returns requests in the order they settle, with their labels, then undefined', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const set = new RequestSet<string, string>();
      set.add(ref.sendRequest<string>({ hold: 'a' }), 'A').add(ref.sendRequest<string>({ hold: 'b' }), 'B').add(ref.sendRequest<string>({ hold: 'c' }), 'C');
      expect(set.size).toBe(3);
      await settle(system);
      expect(set.checkAny()).toBeUndefined();

      const order: string[] = [];
      const first = set.waitAny();
      ref.cast({ release: 'b', value: 'vb' });
      const s1 = await first;
      expect(s1?.label).toBe('B');
      expect(s1?.result).toEqual({ status: 'ok', value: 'vb' });
      order.push(s1?.label as string);

      ref.cast({ release: 'c', value: 'vc' });
      ref.cast({ release: 'a', value: 'va' });
      await settle(system);
      // Both settled: checkAny hands them out without waiting, removing each.
      const s2 = await set.waitAny();
      const s3 = set.checkAny();
      order.push(s2?.label as string, s3?.label as string);
      expect(order.slice(1).sort()).toEqual(['A', 'C']);
      expect(set.size).toBe(0);
      expect(set.checkAny()).toBeUndefined();
      expect(await set.waitAny()).toBeUndefined();
    });

    it('waitAny takes the first to settle even when it was added last', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const set = new RequestSet<number, string>();
      for (let i = 0; i < 5; i++) set.add(ref.sendRequest<string>({ hold: `k${i}` }), i);
      const got: number[] = [];
      for (const k of [4, 2, 0, 3, 1]) {
        const p = set.waitAny();
        await settle(system);
        ref.cast({ release: `k${k}`, value: `v${k}` });
        const s = await p;
        expect(s?.result).toEqual({ status: 'ok', value: `v${k}` });
        got.push(s?.label as number);
      }
      expect(got).toEqual([4, 2, 0, 3, 1]);
    });

    it('waitAll returns every result in the order added, errors included', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const set = new RequestSet<string, unknown>();
      set.add(ref.sendRequest({ hold: 'slow' }), 'slow');
      set.add(ref.sendRequest('quick'), 'quick');
      set.add(system.ref('missing').sendRequest('x'), 'missing');
      set.add(ref.sendRequest({ hold: 'never' }, { timeout: 300 }), 'timesOut');
      const all = set.waitAll();
      expect(set.size).toBe(0);
      await settle(system);
      ref.cast({ release: 'slow', value: 1 });
      await system.clock.advance(300);
      const results = await all;
      expect(results.map((r) => r.label)).toEqual(['slow', 'quick', 'missing', 'timesOut']);
      expect(results[0]?.result).toEqual({ status: 'ok', value: 1 });
      expect(results[1]?.result).toEqual({ status: 'ok', value: 'quick' });
      const missing = results[2]?.result;
      expect(missing?.status === 'error' && missing.error).toBeInstanceOf(NoProcError);
      const timedOut = results[3]?.result;
      expect(timedOut?.status === 'error' && timedOut.error).toBeInstanceOf(CallTimeoutError);
    });

    it('two concurrent waitAny calls each get a different settled request (neither gets undefined while requests remain)', async () => {
      const system = sys();
      const ref = await system.spawn(echo);
      const set = new RequestSet<string, string>();
      set.add(ref.sendRequest<string>({ hold: 'a' }), 'A');
      set.add(ref.sendRequest<string>({ hold: 'b' }), 'B');
      await settle(system);
      const w1 = set.waitAny();
      const w2 = set.waitAny();
      ref.cast({ release: 'b', value: 'vb' });
      await settle(system);
      ref.cast({ release: 'a', value: 'va' });
      await settle(system);
      const [r1, r2] = await Promise.all([w1, w2]);
      expect(r1?.label).toBe('B');
      // The set still held 'A' when w2 was resolved; undefined means "the set is empty".
      expect(r2?.label).toBe('A');
    });
  });
});
