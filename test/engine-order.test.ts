/**
 * Event order after a transition, as gen_statem documents it: actions in list order; on a state
 * change postponed events are retried oldest first; nextEvent events go ahead of everything
 * queued; zero-time timeouts come after inserted and postponed events and before external
 * messages not yet received.
 */
import { describe, expect, it } from 'vitest';
import { door, initInsert, inserter, order, relay, replies, same } from './fixtures/order.js';
import { sharedSystem, spawnObserver, WORKERS } from './helpers.js';

describe.each(WORKERS)('event order (workers: %i)', (workers) => {
  const sys = sharedSystem(workers);

  describe('postpone', () => {
    it('retries postponed events oldest first, only after a state change, across several changes', async () => {
      const ref = await sys().spawn(relay);
      for (const m of ['m1', 'm2', 'go', 'x1', 'm3', 'go', 'm4']) ref.cast(m);
      // a: m1, m2 postponed; go → b. In b, m1 and m2 are retried first (postponed again), then x1
      // (handled, no state change: postponed stay put), m3 postponed, go → c: m1, m2, m3 retried in order.
      expect(await ref.call('log')).toEqual(['a:go', 'b:x1', 'b:go', 'c:m1', 'c:m2', 'c:m3', 'c:m4']);
    });

    it('does not retry postponed events when the state stays the same (keep or next to the same state)', async () => {
      const ref = await sys().spawn(same);
      ref.cast('p1');
      ref.cast('same');
      expect(await ref.call('log')).toEqual(['same']);
      ref.cast('go');
      expect(await ref.call('log')).toEqual(['same', 'go', 'b:p1']);
    });

    it('a postponed call is answered from a later state', async () => {
      const ref = await sys().spawn(door);
      const answer = ref.call('q');
      ref.cast('open');
      expect(await answer).toBe('open:q');
    });
  });

  describe('inserted events (nextEvent)', () => {
    it('are handled before queued messages, in action order, as their own kinds', async () => {
      const ref = await sys().spawn(inserter);
      ref.cast('first');
      ref.cast('second'); // already queued when 'first' inserts its events
      expect(await ref.call('log')).toEqual(['cast:first', 'internal:i1', 'info:i2', 'cast:i3', 'cast:second']);
    });

    it('go ahead of postponed events re-inserted by the same state change, and zero timeouts come after both, before messages', async () => {
      const ref = await sys().spawn(order);
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
    });

    it('init may insert events; they run before any message', async () => {
      const ref = await sys().spawn(initInsert);
      ref.cast('hello');
      expect(await ref.call('log')).toEqual(['internal:boot', 'cast:hello']);
    });
  });

  describe('actions', () => {
    it('sends replies at once, in list order, and the last timeout of a kind wins', async () => {
      const system = sys();
      const observer = await spawnObserver(system);
      const order: string[] = [];
      const ref = await system.spawn(replies, { args: observer.ref });
      const a = ref.call('a').then((v) => order.push(`a=${String(v)}`));
      const b = ref.call('b').then((v) => order.push(`b=${String(v)}`));
      await Promise.all([a, b]);
      expect(order).toEqual(['b=second', 'a=first']);
      await system.clock.advance(299);
      expect(await observer.entries()).toEqual([]);
      await system.clock.advance(1);
      expect(await observer.entries()).toEqual(['state_timeout:late']);
    });
  });
});
