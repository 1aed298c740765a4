/**
 * Mailboxes at system level: bounded capacity, dead letters, ordering, and scheduler fairness.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ActorSystem,
  type DeadLetterEvent,
  defineMachine,
  keep,
  keepAll,
  MailboxFullError,
  reply,
  type Result,
  stop,
  type SystemOptions,
} from 'threadstate';
import { flush, testSystem } from './helpers.js';

const systems: ActorSystem[] = [];
async function sys(opts: SystemOptions = {}): Promise<ActorSystem> {
  const s = await testSystem({ shutdownTimeout: 50, ...opts });
  systems.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.shutdown()));
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** A gate the test opens: the actor's 'block' cast awaits it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

type WorkData = { gate: Promise<void>; seen: unknown[] };
/** Casts are recorded; 'block' parks the actor on the gate; calls answer with what it has seen. */
const worker = defineMachine({
  name: 'worker',
  init: (g: Promise<void>) => ({ state: 's', data: { gate: g, seen: [] } as WorkData }),
  states: {
    s: {
      cast: async (msg: unknown, d: WorkData): Promise<Result> => {
        if (msg === 'block') await d.gate;
        if (msg === 'stop') return stop('normal');
        return keep({ ...d, seen: [...d.seen, msg] });
      },
      call: (msg: unknown, d: WorkData, from) => keepAll([reply(from, msg === 'seen' ? d.seen : msg)]),
    },
  },
});

describe('bounded mailbox', () => {
  it('a full mailbox rejects calls with MailboxFullError and turns casts into dead letters; it takes work again once drained', async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const g = gate();
    const ref = await system.spawn(worker, { id: 'w', args: g.promise, mailbox: { capacity: 3 } });
    ref.cast('block');
    await flush(); // the actor has taken 'block' and is parked in its handler
    ref.cast(1);
    ref.cast(2);
    const queuedCall = ref.call('queued'); // the third slot
    expect(dead).toEqual([]);

    // Full now.
    ref.cast(3);
    expect(dead).toEqual([{ to: 'w', kind: 'cast', msg: 3, reason: 'mailbox_full' }]);
    ref.send('info-msg');
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
    expect(dead).toHaveLength(2);
  });

  it('capacity counts queued messages, not the one being handled', async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const g = gate();
    const ref = await system.spawn(worker, { args: g.promise, mailbox: { capacity: 1 } });
    ref.cast('block');
    await flush();
    ref.cast('a');
    expect(dead).toHaveLength(0);
    ref.cast('b');
    expect(dead.map((d) => d.msg)).toEqual(['b']);
    g.open();
    await flush(); // let it drain 'a' before the call below takes the one slot
    expect(await ref.call('seen')).toEqual(['block', 'a']);
  });

  it('without a capacity the mailbox is unbounded', async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const g = gate();
    const ref = await system.spawn(worker, { args: g.promise });
    ref.cast('block');
    await flush();
    for (let i = 0; i < 5000; i++) ref.cast(i);
    expect(dead).toEqual([]);
    g.open();
    expect(((await ref.call('seen')) as unknown[]).length).toBe(5001);
  });
});

describe('dead letters', () => {
  it("a cast to an unknown id is a dead letter with reason 'noproc'", async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    system.ref('nobody').cast({ hello: 1 });
    system.ref('nobody').send('plain');
    expect(dead).toEqual([
      { to: 'nobody', kind: 'cast', msg: { hello: 1 }, reason: 'noproc' },
      { to: 'nobody', kind: 'info', msg: 'plain', reason: 'noproc' },
    ]);
  });

  it("a cast to an actor that has stopped is a dead letter with reason 'noproc'", async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const ref = await system.spawn(worker, { id: 'gone', args: Promise.resolve() });
    await ref.stop();
    ref.cast('late');
    expect(dead).toEqual([{ to: 'gone', kind: 'cast', msg: 'late', reason: 'noproc' }]);
  });

  it("a cast to an actor that is running its terminate is a dead letter with reason 'stopping'", async () => {
    const release = gate();
    const slowStop = defineMachine({
      name: 'slow_stop',
      init: () => ({ state: 's', data: null }),
      states: { s: { cast: () => keepAll() } },
      terminate: () => release.promise,
    });
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const ref = await system.spawn(slowStop, { id: 'leaving' });
    const stopped = ref.stop();
    await flush(); // terminate has started and is waiting
    ref.cast('too late');
    expect(dead).toEqual([{ to: 'leaving', kind: 'cast', msg: 'too late', reason: 'stopping' }]);
    release.open();
    await stopped;
  });

  it("messages left in the mailbox when the actor stops become dead letters with reason 'stopped'", async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const g = gate();
    const ref = await system.spawn(worker, { id: 'quitter', args: g.promise });
    ref.cast('block');
    await flush();
    ref.cast('stop'); // handled next: stops with the rest still queued
    ref.cast('x');
    ref.send('y');
    ref.cast('z');
    g.open();
    await flush();
    expect(system.has('quitter')).toBe(false);
    expect(dead).toEqual([
      { to: 'quitter', kind: 'cast', msg: 'x', reason: 'stopped' },
      { to: 'quitter', kind: 'info', msg: 'y', reason: 'stopped' },
      { to: 'quitter', kind: 'cast', msg: 'z', reason: 'stopped' },
    ]);
  });

  it("casts queued behind ref.stop() become dead letters with reason 'stopped'", async () => {
    const system = await sys();
    const dead: DeadLetterEvent[] = [];
    system.on('deadLetter', (e) => dead.push(e));
    const ref = await system.spawn(worker, { id: 'q', args: Promise.resolve() });
    ref.cast('before');
    const stopped = ref.stop();
    ref.cast('after'); // the actor is still running: it is queued, behind the stop
    await stopped;
    expect(dead).toEqual([{ to: 'q', kind: 'cast', msg: 'after', reason: 'stopped' }]);
  });
});

describe('ordering and fairness', () => {
  it('10k casts from one sender are handled in the order sent', async () => {
    const collector = defineMachine({
      name: 'collector',
      init: () => ({ state: 's', data: [] as number[] }),
      states: {
        s: {
          cast: (n: number, seen: number[]) => {
            seen.push(n);
            return keep(seen);
          },
          call: (_m, seen: number[], from) => keepAll([reply(from, seen)]),
        },
      },
    });
    const system = await sys();
    const ref = await system.spawn(collector);
    const N = 10_000;
    for (let i = 0; i < N; i++) ref.cast(i);
    const seen = (await ref.call('get')) as number[];
    expect(seen).toHaveLength(N);
    let inOrder = true;
    for (let i = 0; i < N; i++) if (seen[i] !== i) inOrder = false;
    expect(inOrder).toBe(true);
  });

  it('an actor flooded with 100k casts does not keep another actor from answering a call first', async () => {
    let handled = 0;
    const flooded = defineMachine({
      name: 'flooded',
      init: () => ({ state: 's', data: null }),
      states: {
        s: {
          cast: () => {
            handled++;
            return keepAll();
          },
          call: (_m, _d, from) => keepAll([reply(from, handled)]),
        },
      },
    });
    const quick = defineMachine({
      name: 'quick',
      init: () => ({ state: 's', data: null }),
      states: { s: { call: (_m, _d, from) => keepAll([reply(from, handled)]) } },
    });
    const system = await sys();
    const a = await system.spawn(flooded);
    const b = await system.spawn(quick);
    const N = 100_000;
    for (let i = 0; i < N; i++) a.cast(i);
    const seenByB = (await b.call('ping')) as number;
    const seenWhenCallerResumed = handled;
    expect(seenByB).toBeLessThan(N);
    expect(seenWhenCallerResumed).toBeLessThan(N); // the caller got its answer before the flood was done
    expect(await a.call('count', { timeout: 60_000 })).toBe(N);
  });
});
