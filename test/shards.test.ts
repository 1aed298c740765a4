/**
 * Worker shards with real threads: placement, refs inside messages, ordering under load across
 * three shards, encoding errors at the send site, and every way a worker can die or hang —
 * observed, reported with what a supervisor needs, pending calls failed at once, and the shard
 * replaced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  createSystem,
  EncodeError,
  InvalidArgumentError,
  MachineLoadError,
  ShardStartError,
  type ActorSystem,
  type CrashEvent,
  type SystemOptions,
} from 'threadstate';
import { counter } from './fixtures/basic.js';
import { blackhole, bomb, echo, relay, sink, source } from './fixtures/shards.js';

let systems: ActorSystem[] = [];
async function start(opts: SystemOptions = {}): Promise<ActorSystem> {
  const system = await createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' }, ...opts });
  systems.push(system);
  return system;
}
afterEach(async () => {
  await Promise.all(systems.map((s) => s.shutdown()));
  systems = [];
});

describe('placement and refs', () => {
  it('spreads actors over the shards by default; `shard` and `near` place them', async () => {
    const system = await start();
    const refs = await Promise.all(Array.from({ length: 40 }, () => system.spawn(counter)));
    const perShard = [0, 0];
    for (const r of refs) perShard[system.shardOf(r.id) as number]++;
    expect(perShard[0]).toBeGreaterThan(8);
    expect(perShard[1]).toBeGreaterThan(8);
    const pinned = await system.spawn(counter, { id: 'pinned', shard: 1 });
    const buddy = await system.spawn(counter, { id: 'buddy', near: pinned });
    expect(system.shardOf('pinned')).toBe(1);
    expect(system.shardOf('buddy')).toBe(1);
    expect(await buddy.call('where')).toBe(await pinned.call('where'));
    // system.ref by id reaches an explicitly placed actor
    system.ref('pinned').cast(5);
    expect(await system.ref('pinned').call('n')).toBe(5);
  });

  it('a ref travels inside a message and works on the thread it arrives on', async () => {
    const system = await start();
    const target = await system.spawn(echo, { id: 'target', shard: 0 });
    const via = await system.spawn(relay, { id: 'via', shard: 1 });
    const out = (await via.call({ via: target, msg: { deep: [1, { two: 2 }], when: new Date(0), tags: new Set(['a']) } })) as {
      answer: { deep: unknown; when: Date; tags: Set<string> };
    };
    expect(out.answer.deep).toEqual([1, { two: 2 }]);
    expect(out.answer.when).toEqual(new Date(0));
    expect([...out.answer.tags]).toEqual(['a']);
  });

  it('shard out of range is InvalidArgumentError at the call site', async () => {
    const system = await start();
    await expect(system.spawn(counter, { shard: 2 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(system.spawn(counter, { shard: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('ordering', () => {
  it('messages from one sender to one receiver arrive in the order sent, across three shards, under load', async () => {
    const system = await createSystem({ workers: 3, db: ':memory:', logger: { level: 'silent' } });
    systems.push(system);
    const receiver = await system.spawn(sink, { id: 'receiver', shard: 2 });
    const senders = await Promise.all([0, 1, 2].map((shard) => system.spawn(source, { id: `s${shard}`, shard })));
    const count = 20_000;
    // Three shard senders and the main thread, all at once.
    const sent = senders.map((s, i) => s.call({ to: receiver, count, name: `shard${i}` }, { timeout: 30_000 }));
    for (let i = 0; i < count; i++) receiver.cast(['main', i]);
    await Promise.all(sent);
    let log: Record<string, number[]> = {};
    for (let tries = 0; tries < 100; tries++) {
      log = (await receiver.call('log', { timeout: 30_000 })) as Record<string, number[]>;
      if (Object.values(log).every((l) => l.length === count) && Object.keys(log).length === 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const expected = Array.from({ length: count }, (_, i) => i);
    for (const name of ['main', 'shard0', 'shard1', 'shard2']) expect(log[name], name).toEqual(expected);
  }, 60_000);
});

describe('encoding', () => {
  it('a message that cannot cross a thread is EncodeError at the send site', async () => {
    const system = await start();
    const remote = await system.spawn(echo, { shard: 0 });
    class WithMethods {
      x = 1;
      hello(): string {
        return 'hi';
      }
    }
    expect(() => remote.cast({ fn: () => 1 })).toThrow(EncodeError);
    expect(() => remote.cast(Symbol('s'))).toThrow(EncodeError);
    expect(() => remote.cast({ nested: [new WithMethods()] })).toThrow(/class WithMethods/);
    await expect(remote.call({ cb: () => 2 })).rejects.toBeInstanceOf(EncodeError);
    await expect(system.spawn(echo, { args: { fn: () => 3 } as never })).rejects.toBeInstanceOf(EncodeError);
    // Nothing bad was delivered; the actor is fine.
    expect(await remote.call('still here')).toBe('still here');
  });
});

describe('machine modules', () => {
  it('a machine whose module throws at import fails spawn with MachineLoadError naming the module', async () => {
    const system = await start();
    const { fine } = await import('./fixtures/broken/throws-at-import.js');
    const err = (await system.spawn(fine).catch((e: unknown) => e)) as MachineLoadError;
    expect(err).toBeInstanceOf(MachineLoadError);
    expect(err.module).toMatch(/throws-at-import\.ts$/);
    expect(err.message).toMatch(/refuses to load in a worker/);
  });

  it('a shard that does not start in time is ShardStartError at createSystem', async () => {
    await expect(createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' }, startTimeout: 1 })).rejects.toBeInstanceOf(ShardStartError);
  });
});

describe('worker death and hangs', () => {
  async function explode(how: string, opts: SystemOptions = {}) {
    const system = await start({ watchdog: 400, ...opts });
    const crashes: CrashEvent[] = [];
    system.on('crash', (c) => crashes.push(c));
    const victim = await system.spawn(bomb, { id: 'victim', shard: 0 });
    await system.spawn(counter, { id: 'neighbour', shard: 0, args: 41 });
    const waiting = await system.spawn(blackhole, { id: 'waiting', shard: 0 });
    const survivor = await system.spawn(counter, { id: 'survivor', shard: 1 });
    const pending = waiting.call('never answered', { timeout: 60_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20)); // the call is taken
    const t0 = Date.now();
    victim.cast(how);
    const err = (await pending) as ActorCrashedError;
    const heardAfter = Date.now() - t0;
    for (let i = 0; i < 200 && crashes.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    return { system, crashes, err, heardAfter, survivor };
  }

  for (const [how, reason, limit] of [
    ['throw', 'shard_down', 2000],
    ['exit', 'shard_down', 2000],
    ['loop', 'shard_unresponsive', 2500],
  ] as const) {
    it(`a worker that ${how === 'loop' ? 'blocks its event loop' : how === 'throw' ? 'throws outside any handler' : 'calls process.exit'}: actors reported crashed (${reason}), pending calls fail at once, the shard is replaced`, async () => {
      const { system, crashes, err, heardAfter, survivor } = await explode(how);
      expect(err).toBeInstanceOf(ActorCrashedError);
      expect(err.reason).toBe(reason);
      expect(heardAfter).toBeLessThan(limit);
      const lost = crashes.map((c) => c.id).sort();
      expect(lost).toEqual(['neighbour', 'victim', 'waiting']);
      const neighbour = crashes.find((c) => c.id === 'neighbour') as CrashEvent;
      expect(neighbour.reason).toBe(reason);
      expect(neighbour.machine).toBe('counter');
      expect(neighbour.spawnOptions).toMatchObject({ id: 'neighbour', shard: 0, args: 41 });
      // The other shard carried on; the dead one was replaced and takes new actors.
      survivor.cast(1);
      expect(await survivor.call('n')).toBe(1);
      expect(system.has('neighbour')).toBe(false);
      let again: unknown;
      for (let i = 0; i < 100; i++) {
        again = await system.spawn(counter, { id: 'again', shard: 0, args: 7 }).then((r) => r.call('n'), (e: unknown) => e);
        if (again === 7) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(again).toBe(7);
    }, 30_000);
  }

  it('a worker that runs out of memory (resourceLimits) is reported and replaced', async () => {
    const { crashes, err } = await explode('oom', { resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
    expect(err).toBeInstanceOf(ActorCrashedError);
    expect(err.reason).toBe('shard_down');
    expect(crashes.map((c) => c.id).sort()).toEqual(['neighbour', 'victim', 'waiting']);
  }, 60_000);

  it('a call to an actor on a dead shard fails; a cast becomes a dead letter', async () => {
    const { system } = await explode('exit');
    const letters: string[] = [];
    system.on('deadLetter', (d) => letters.push(`${d.to}:${d.reason}`));
    const gone = system.ref('neighbour');
    const err = await gone.call('n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    gone.cast(1);
    for (let i = 0; i < 50 && letters.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(letters.length).toBe(1);
  }, 30_000);
});
