/** Monitors: a DOWN info message with the reason when the watched actor stops; demonitor. */
import { afterEach, describe, expect, it } from 'vitest';
import { createSystem, type ActorSystem } from 'threadstate';
import { testSystem } from './helpers.js';
import { mortal, watcher } from './fixtures/monitors.js';

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((s) => s.shutdown()));
  systems = [];
});

async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await f();
  for (let i = 0; i < 100 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 10));
    v = await f();
  }
  return v;
}

describe.each([0, 2])('monitors (workers: %i)', (workers) => {
  it('DOWN carries the reason; an actor already gone is DOWN noproc; demonitor drops it', async () => {
    const system = await testSystem({ workers, clock: 'real' });
    systems.push(system);
    const w = await system.spawn(watcher, { id: 'w', shard: 0 });
    const a = await system.spawn(mortal, { id: 'a', shard: workers > 1 ? 1 : 0 });
    const b = await system.spawn(mortal, { id: 'b', shard: workers > 1 ? 1 : 0 });
    await w.call({ watch: a });
    await w.call({ watch: b });
    await w.call({ watch: system.ref('ghost') });
    await w.call({ unwatch: 'b' });
    a.cast('die');
    b.cast('quit');
    await eventually(
      () => w.call('downs') as Promise<unknown[]>,
      (d) => d.length >= 2,
    );
    await new Promise((r) => setTimeout(r, 30)); // time for a (wrong) DOWN of b to arrive
    expect(await w.call('downs')).toEqual([
      ['DOWN', 'ghost', 'noproc'],
      ['DOWN', 'a', { error: 'died' }],
    ]);
  });
});

describe('monitors and dead shards', () => {
  it('a monitor on an actor whose shard dies fires DOWN shard_down', async () => {
    const system = await createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' }, watchdog: 400 });
    systems.push(system);
    const { bomb } = await import('./fixtures/shards.js');
    const w = await system.spawn(watcher, { id: 'w', shard: 0 });
    const victim = await system.spawn(bomb, { id: 'victim', shard: 1 });
    await w.call({ watch: victim });
    victim.cast('exit');
    const downs = await eventually(
      () => w.call('downs') as Promise<unknown[]>,
      (d) => d.length >= 1,
    );
    expect(downs).toEqual([['DOWN', 'victim', 'shard_down']]);
  }, 20_000);
});
