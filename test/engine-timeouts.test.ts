/**
 * Timeouts as gen_statem defines them: an event timeout is cancelled by any event; a state
 * timeout by a state change; named (generic) timeouts never implicitly; re-arming restarts;
 * cancel and update; absolute deadlines; 0 ms and Infinity. All on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { named, plan, probe, ticker } from './fixtures/timeouts.js';
import { sharedSystem, spawnObserver, WORKERS } from './helpers.js';

describe.each(WORKERS)('timeouts (workers: %i)', (workers) => {
  const sys = sharedSystem(workers);

  // Actions travel to the probe as plans (plain data): plan.stateTimeout(100, 'st') is carried out
  // as stateTimeout(100, 'st') by the handler.

  /**
   * Spawns a probe (fixtures/timeouts.ts). `log()` lists what it logged, each entry stamped with the
   * virtual time (ms since the probe started) at which its receipt reached this thread: on
   * workers: 0 receipts are emitted while the event is handled; across threads `clock.advance`
   * waits for every thread to go quiet before it moves time on, so a receipt raised at time t
   * arrives while the clock still reads t. `log()` calls the probe first (an event, as a handler
   * would see it), so that every receipt raised before has arrived.
   */
  async function setup() {
    const system = sys();
    const start = system.clock.now();
    const ref = await system.spawn(probe);
    const stamped: string[] = [];
    system.on('receipt', (r) => {
      if (r.id === ref.id) stamped.push(`${r.reason}@${system.clock.now() - start}`);
    });
    const log = async () => {
      const entries = (await ref.call('log')) as string[];
      expect(stamped.map((s) => s.slice(0, s.lastIndexOf('@')))).toEqual(entries);
      return [...stamped];
    };
    return { system, ref, log };
  }

  describe('event timeout', () => {
    it('fires when no event arrives in time', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.eventTimeout(100, 'idle')] });
      await system.clock.advance(99);
      await system.clock.advance(1);
      // The 'log' call itself is an event, so check after the timeout has fired.
      expect(await log()).toEqual(['timeout:idle@100']);
    });

    it('is cancelled by any event, even one the machine ignores', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.eventTimeout(100, 'idle')] });
      await system.clock.advance(50);
      ref.cast({}); // any event cancels it
      await system.clock.advance(200);
      expect(await log()).toEqual([]);
      expect(await system.timeoutsOf(ref.id)).toEqual([]);
    });

    it('0 ms fires before messages not yet handled; an inserted event ahead, or an earlier zero timeout, cancels it', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.eventTimeout(0, 'zero')] });
      ref.cast({ tag: 'next' }); // still in the mailbox: the zero event timeout comes first
      await system.clock.advance(0);
      expect(await log()).toEqual(['timeout:zero@0', 'next@0']);
      // An inserted event is handled first, and, being an event, cancels the event timeout.
      ref.cast({ actions: [plan.eventTimeout(0, 'cancelled'), plan.nextEvent('internal', { tag: 'inserted' })] });
      await system.clock.advance(0);
      expect((await log()).slice(2)).toEqual(['inserted@0']);
      // Zero timeouts queue in action order: one set before it fires first and cancels it …
      ref.cast({ actions: [plan.stateTimeout(0, 'st0'), plan.eventTimeout(0, 'lost')] });
      await system.clock.advance(0);
      expect((await log()).slice(3)).toEqual(['state_timeout:st0@0']);
      // … one set after it does not.
      ref.cast({ actions: [plan.eventTimeout(0, 'ev0'), plan.stateTimeout(0, 'st1')] });
      await system.clock.advance(0);
      expect((await log()).slice(4)).toEqual(['timeout:ev0@0', 'state_timeout:st1@0']);
    });
  });

  describe('state timeout', () => {
    it('survives events in the same state and is cancelled by a state change', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(100, 'st')] });
      await system.clock.advance(50);
      ref.cast({ tag: 'same-state' }); // keep: the state timeout runs on
      await system.clock.advance(50);
      expect(await log()).toEqual(['same-state@50', 'state_timeout:st@100']);
      ref.cast({ actions: [plan.stateTimeout(100, 'st2')] });
      await system.clock.advance(10);
      ref.cast({ to: 'b' }); // state change: cancelled
      await system.clock.advance(500);
      expect(await log()).toEqual(['same-state@50', 'state_timeout:st@100']);
    });

    it('set in the transition that changes state belongs to the new state', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(100, 'old')] });
      ref.cast({ to: 'b', actions: [plan.stateTimeout(100, 'new')] });
      await system.clock.advance(100);
      expect(await log()).toEqual(['state_timeout:new@100']);
    });

    it('re-arming restarts it', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(100, 'first')] });
      await system.clock.advance(60);
      ref.cast({ actions: [plan.stateTimeout(100, 'second')] });
      await system.clock.advance(60); // t=120: the first would have fired at 100
      expect(await log()).toEqual([]);
      await system.clock.advance(40);
      expect(await log()).toEqual(['state_timeout:second@160']);
    });

    it('a zero state timeout is cancelled if an inserted event changes state first (delivered only in its own state)', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(0, 'zero'), plan.nextEvent('internal', { to: 'b', tag: 'inserted' })] });
      await system.clock.advance(0);
      expect(await log()).toEqual(['inserted@0']);
    });

    it('Infinity arms nothing and cancels a running one', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(100, 'x')] });
      ref.cast({ actions: [plan.stateTimeout(Infinity, 'never')] });
      await system.clock.advance(1000);
      expect(await log()).toEqual([]);
      expect(await system.timeoutsOf(ref.id)).toEqual([]);
    });
  });

  describe('named (generic) timeouts', () => {
    it('are never cancelled implicitly: neither by events nor by state changes', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.timeout('t1', 100, 'one'), plan.timeout('t2', 50, 'two')] });
      ref.cast({ to: 'b' });
      await system.clock.advance(30);
      ref.cast({ to: 'a' });
      await system.clock.advance(100);
      expect(await log()).toEqual(['generic_timeout:two@50', 'generic_timeout:one@100']);
    });

    it('re-arming the same name restarts it; other names are independent', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.timeout('t', 100, 'a'), plan.timeout('u', 100, 'u')] });
      await system.clock.advance(50);
      ref.cast({ actions: [plan.timeout('t', 100, 'b')] });
      await system.clock.advance(100);
      expect(await log()).toEqual(['generic_timeout:u@100', 'generic_timeout:b@150']);
    });

    it('exposes the name to the handler (ctx.event.name)', async () => {
      const system = sys();
      const observer = await spawnObserver(system);
      await system.spawn(named, { args: observer.ref });
      await system.clock.advance(20);
      expect(await observer.entries()).toEqual(['alpha', 'beta']);
    });
  });

  describe('cancel and update', () => {
    it('cancelTimeout stops each kind, including one that already fired but was not handled', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(100, 's'), plan.timeout('n', 100, 'n')] });
      ref.cast({ actions: [plan.cancelTimeout('state_timeout'), plan.cancelTimeout('n')] });
      await system.clock.advance(200);
      expect(await log()).toEqual([]);
      // A zero timeout is queued at once; cancelling it in the next inserted event drops it.
      ref.cast({ actions: [plan.timeout('z', 0, 'z'), plan.nextEvent('internal', { actions: [plan.cancelTimeout('z')] })] });
      await system.clock.advance(0);
      expect(await log()).toEqual([]);
    });

    it('updateTimeout changes the message of a running timer without moving its deadline', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.stateTimeout(100, 'old'), plan.timeout('n', 80, 'old-n')] });
      await system.clock.advance(40);
      ref.cast({ actions: [plan.updateTimeout('state_timeout', 'new'), plan.updateTimeout('n', 'new-n')] });
      await system.clock.advance(60);
      expect(await log()).toEqual(['generic_timeout:new-n@80', 'state_timeout:new@100']);
    });

    it('updateTimeout of a timer that is not running fires it as a zero timeout with the new message', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.updateTimeout('n', 'now')] });
      await system.clock.advance(0);
      expect(await log()).toEqual(['generic_timeout:now@0']);
    });
  });

  describe('absolute deadlines and timer ordering', () => {
    it('opts.at fires at the absolute epoch time; a deadline already past fires at once', async () => {
      const { system, ref, log } = await setup();
      const t0 = system.clock.now();
      ref.cast({ actions: [plan.stateTimeout(0, 'abs', { at: t0 + 250 }), plan.timeout('past', 0, 'past', { at: t0 - 1000 })] });
      await system.clock.advance(0);
      expect(await log()).toEqual(['generic_timeout:past@0']);
      await system.clock.advance(250);
      expect(await log()).toEqual(['generic_timeout:past@0', 'state_timeout:abs@250']);
    });

    it('a timeout armed by a timeout handler fires at its own virtual time within one advance', async () => {
      const system = sys();
      const ref = await system.spawn(ticker);
      await system.clock.advance(350);
      expect(await ref.call('ticks')).toEqual([0, 1, 2]);
    });

    it('equal deadlines fire in the order they were armed', async () => {
      const { system, ref, log } = await setup();
      ref.cast({ actions: [plan.timeout('x', 100, 'x'), plan.timeout('y', 100, 'y'), plan.stateTimeout(100, 's')] });
      await system.clock.advance(100);
      expect(await log()).toEqual(['generic_timeout:x@100', 'generic_timeout:y@100', 'state_timeout:s@100']);
    });
  });
});
