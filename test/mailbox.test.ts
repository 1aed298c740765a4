/**
 * Mailboxes at system level: bounded capacity, dead letters, ordering, and scheduler fairness.
 */
import { describe, expect, it } from 'vitest';
import { type DeadLetterEvent, MailboxFullError } from 'threadstate';
import { floodScenario, flooded, floodHandled, quick, sequence, slowStop, worker } from './fixtures/mailbox.js';
import { arrived, rejection, settle, sharedSystem, spawnGate, WORKERS } from './helpers.js';

describe.each(WORKERS)('mailboxes (workers: %i)', (workers) => {
  const sys = sharedSystem(workers);

  // Dead letters of an actor on a shard are raised there and reach this thread a moment later:
  // `arrived(system)` waits for them (and does nothing on workers: 0, where they are synchronous).

  describe('bounded mailbox', () => {
    it('a full mailbox rejects calls with MailboxFullError and turns casts into dead letters; it takes work again once drained', async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'w') dead.push(e);
      });
      const g = await spawnGate(system);
      const ref = await system.spawn(worker, { id: 'w', args: g.ref, mailbox: { capacity: 3 } });
      ref.cast('block');
      await settle(system); // the actor has taken 'block' and is parked in its handler
      ref.cast(1);
      ref.cast(2);
      const queuedCall = ref.call('queued'); // the third slot
      await arrived(system);
      expect(dead).toEqual([]);

      // Full now.
      ref.cast(3);
      await arrived(system);
      expect(dead).toEqual([{ to: 'w', kind: 'cast', msg: 3, reason: 'mailbox_full' }]);
      ref.send('info-msg');
      await arrived(system);
      expect(dead[1]).toEqual({ to: 'w', kind: 'info', msg: 'info-msg', reason: 'mailbox_full' });
      const err = await rejection(ref.call('overflow'));
      expect(err).toBeInstanceOf(MailboxFullError);
      expect((err as MailboxFullError).code).toBe('mailbox_full');
      expect((err as MailboxFullError).actor).toBe('w');
      expect((err as MailboxFullError).capacity).toBe(3);

      g.open();
      expect(await queuedCall).toBe('queued');
      expect(await ref.call('seen')).toEqual(['block', 1, 2]);
      // Drained: it takes work again.
      ref.cast(4);
      ref.cast(5);
      expect(await ref.call('seen')).toEqual(['block', 1, 2, 4, 5]);
      await arrived(system);
      expect(dead).toHaveLength(2);
    });

    it('capacity counts queued messages, not the one being handled', async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'cap1') dead.push(e);
      });
      const g = await spawnGate(system);
      const ref = await system.spawn(worker, { id: 'cap1', args: g.ref, mailbox: { capacity: 1 } });
      ref.cast('block');
      await settle(system);
      ref.cast('a');
      await arrived(system);
      expect(dead).toHaveLength(0);
      ref.cast('b');
      await arrived(system);
      expect(dead.map((d) => d.msg)).toEqual(['b']);
      g.open();
      await settle(system); // let it drain 'a' before the call below takes the one slot
      expect(await ref.call('seen')).toEqual(['block', 'a']);
    });

    it('without a capacity the mailbox is unbounded', async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'unbounded') dead.push(e);
      });
      const g = await spawnGate(system);
      const ref = await system.spawn(worker, { id: 'unbounded', args: g.ref });
      ref.cast('block');
      await settle(system);
      for (let i = 0; i < 5000; i++) ref.cast(i);
      await arrived(system);
      expect(dead).toEqual([]);
      g.open();
      expect(((await ref.call('seen')) as unknown[]).length).toBe(5001);
    });
  });

  describe('dead letters', () => {
    it("a cast to an unknown id is a dead letter with reason 'noproc'", async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'nobody') dead.push(e);
      });
      system.ref('nobody').cast({ hello: 1 });
      system.ref('nobody').send('plain');
      // The system knows every actor id on the calling thread (with shards too: the main thread
      // keeps the directory), so a message to an id nobody holds is a dead letter at once.
      expect(dead).toEqual([
        { to: 'nobody', kind: 'cast', msg: { hello: 1 }, reason: 'noproc' },
        { to: 'nobody', kind: 'info', msg: 'plain', reason: 'noproc' },
      ]);
    });

    it("a cast to an actor that has stopped is a dead letter with reason 'noproc'", async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'gone') dead.push(e);
      });
      const g = await spawnGate(system);
      const ref = await system.spawn(worker, { id: 'gone', args: g.ref });
      await ref.stop();
      ref.cast('late');
      expect(dead).toEqual([{ to: 'gone', kind: 'cast', msg: 'late', reason: 'noproc' }]);
    });

    it("a cast to an actor that is running its terminate is a dead letter with reason 'stopping'", async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'leaving') dead.push(e);
      });
      const release = await spawnGate(system);
      const ref = await system.spawn(slowStop, { id: 'leaving', args: release.ref });
      const stopped = ref.stop();
      await settle(system); // terminate has started and is waiting
      ref.cast('too late');
      await arrived(system);
      expect(dead).toEqual([{ to: 'leaving', kind: 'cast', msg: 'too late', reason: 'stopping' }]);
      release.open();
      await stopped;
    });

    it("messages left in the mailbox when the actor stops become dead letters with reason 'stopped'", async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'quitter') dead.push(e);
      });
      const g = await spawnGate(system);
      const ref = await system.spawn(worker, { id: 'quitter', args: g.ref });
      ref.cast('block');
      await settle(system);
      ref.cast('stop'); // handled next: stops with the rest still queued
      ref.cast('x');
      ref.send('y');
      ref.cast('z');
      g.open();
      await settle(system);
      expect(system.has('quitter')).toBe(false);
      expect(dead).toEqual([
        { to: 'quitter', kind: 'cast', msg: 'x', reason: 'stopped' },
        { to: 'quitter', kind: 'info', msg: 'y', reason: 'stopped' },
        { to: 'quitter', kind: 'cast', msg: 'z', reason: 'stopped' },
      ]);
    });

    it("casts queued behind ref.stop() become dead letters with reason 'stopped'", async () => {
      const system = sys();
      const dead: DeadLetterEvent[] = [];
      system.on('deadLetter', (e) => {
        if (e.to === 'q') dead.push(e);
      });
      const g = await spawnGate(system);
      const ref = await system.spawn(worker, { id: 'q', args: g.ref });
      ref.cast('before');
      const stopped = ref.stop();
      ref.cast('after'); // the actor is still running: it is queued, behind the stop
      await stopped; // (across threads the dead letter is sent before the stop is acknowledged, on the same link)
      expect(dead).toEqual([{ to: 'q', kind: 'cast', msg: 'after', reason: 'stopped' }]);
    });
  });

  describe('ordering and fairness', () => {
    it('10k casts from one sender are handled in the order sent', async () => {
      const ref = await sys().spawn(sequence);
      const N = 10_000;
      for (let i = 0; i < N; i++) ref.cast(i);
      const seen = (await ref.call('get')) as number[];
      expect(seen).toHaveLength(N);
      let inOrder = true;
      for (let i = 0; i < N; i++) if (seen[i] !== i) inOrder = false;
      expect(inOrder).toBe(true);
    });

    it('an actor flooded with 100k casts does not keep another actor from answering a call first', async () => {
      const system = sys();
      const a = await system.spawn(flooded);
      const b = await system.spawn(quick, { near: a }); // on a's thread: it reads the count of casts a has handled there
      const N = 100_000;
      let seenByB: number;
      let seenWhenCallerResumed: number;
      if (workers === 0) {
        for (let i = 0; i < N; i++) a.cast(i);
        seenByB = (await b.call('ping')) as number;
        seenWhenCallerResumed = floodHandled();
      } else {
        // The test's thread is not the flood's: the same scenario is played by an actor on a's
        // thread (it casts the flood, calls b, and reads the count there when its call returns).
        const scenario = await system.spawn(floodScenario, { near: a, args: { flooded: a, quick: b } });
        [seenByB, seenWhenCallerResumed] = (await scenario.call(N, { timeout: 60_000 })) as [number, number];
      }
      expect(seenByB).toBeLessThan(N);
      expect(seenWhenCallerResumed).toBeLessThan(N); // the caller got its answer before the flood was done
      expect(await a.call('count', { timeout: 60_000 })).toBe(N);
    });
  });
});
