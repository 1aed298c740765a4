/**
 * Supervision, tested as OTP's supervisor documentation describes it: strategies, restart
 * types, intensity and escalation, start and stop order, significant children, the dynamic API
 * and its error cases — on one thread and across two shards.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { child, SupervisorError, supervisor, type ActorSystem, type RestartEvent, type StopEvent } from 'threadstate';
import { testSystem } from './helpers.js';
import { instantCrash, instantQuit, member, stubborn } from './fixtures/supervision.js';

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((s) => s.shutdown()));
  systems = [];
});

async function sys(workers: number): Promise<ActorSystem> {
  const system = await testSystem({ workers, shutdownTimeout: 200 });
  systems.push(system);
  return system;
}

const tag = (system: ActorSystem, id: string) => system.ref(id).call('tag') as Promise<string>;
async function tags(system: ActorSystem, ids: string[]): Promise<string[]> {
  return Promise.all(ids.map((id) => tag(system, id)));
}
/** Crash a child and wait until its supervisor has dealt with it. */
async function crash(system: ActorSystem, id: string): Promise<void> {
  system.ref(id).cast('crash');
  await system.clock.advance(0);
}

describe.each([0, 2])('supervision (workers: %i)', (workers) => {
  it('one_for_one restarts only the child that crashed', async () => {
    const system = await sys(workers);
    await system.start(supervisor('root', { strategy: 'one_for_one', intensity: 5 }, [child('a', member), child('b', member), child('c', member)]));
    const before = await tags(system, ['a', 'b', 'c']);
    await crash(system, 'b');
    const after = await tags(system, ['a', 'b', 'c']);
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(after[2]).toBe(before[2]);
  });

  it('one_for_all stops the others newest first, then starts all in order', async () => {
    const system = await sys(workers);
    const stops: string[] = [];
    const restarts: string[] = [];
    system.on('stop', (s: StopEvent) => stops.push(s.id));
    system.on('restart', (r: RestartEvent) => restarts.push(r.id));
    await system.start(supervisor('root', { strategy: 'one_for_all', intensity: 5 }, [child('a', member), child('b', member), child('c', member)]));
    const before = await tags(system, ['a', 'b', 'c']);
    await crash(system, 'b');
    const after = await tags(system, ['a', 'b', 'c']);
    for (let i = 0; i < 3; i++) expect(after[i]).not.toBe(before[i]);
    expect(stops).toEqual(['b', 'c', 'a']);
    expect(restarts).toEqual(['a', 'b', 'c']);
  });

  it('rest_for_one restarts the crashed child and those started after it', async () => {
    const system = await sys(workers);
    await system.start(supervisor('root', { strategy: 'rest_for_one', intensity: 5 }, [child('a', member), child('b', member), child('c', member)]));
    const before = await tags(system, ['a', 'b', 'c']);
    await crash(system, 'b');
    const after = await tags(system, ['a', 'b', 'c']);
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(after[2]).not.toBe(before[2]);
  });

  it('restart types: transient only after an abnormal exit; temporary never, not even by a sibling’s one_for_all', async () => {
    const system = await sys(workers);
    const root = await system.start(
      supervisor('root', { strategy: 'one_for_all', intensity: 10 }, [
        child('perm', member),
        child('trans', member, { restart: 'transient' }),
        child('temp', member, { restart: 'temporary' }),
      ]),
    );
    system.ref('trans').cast('quit'); // normal exit: not restarted, spec kept
    await system.clock.advance(0);
    expect(system.has('trans')).toBe(false);
    expect(root.whichChildren().map((c) => [c.id, c.status])).toEqual([
      ['perm', 'running'],
      ['trans', 'terminated'],
      ['temp', 'running'],
    ]);
    await root.restartChild('trans');
    await crash(system, 'trans'); // abnormal: restarted, and one_for_all takes the others too
    expect(system.has('trans')).toBe(true);
    expect(system.has('perm')).toBe(true);
    expect(system.has('temp')).toBe(false); // temporary: stopped by the sibling's restart, not restarted
    expect(root.whichChildren().map((c) => c.id)).toEqual(['perm', 'trans']);
  });

  it('more than intensity restarts within period stops the supervisor and escalates to its parent', async () => {
    const system = await sys(workers);
    const downs: string[] = [];
    system.on('supervisorDown', (d) => downs.push(d.supervisor));
    const restarts: string[] = [];
    system.on('restart', (r) => restarts.push(r.id));
    const root = await system.start(
      supervisor('root', { strategy: 'one_for_one', intensity: 1, period: 10_000 }, [supervisor('inner', { strategy: 'one_for_one', intensity: 2, period: 1000 }, [child('w', member)])]),
    );
    await crash(system, 'w');
    await crash(system, 'w'); // 2 restarts within 1 s: allowed
    expect(downs).toEqual([]);
    await crash(system, 'w'); // the third: inner gives up …
    expect(downs).toContain('inner');
    // … and root restarts it (a child exit with reason shutdown, permanent): w is back.
    expect(restarts.filter((r) => r === 'inner')).toHaveLength(1);
    expect(await tag(system, 'w')).toEqual(expect.any(String));
    expect(root.countChildren()).toEqual({ specs: 1, active: 1, supervisors: 1, workers: 0 });
    // Restarts spread out in time stay within intensity.
    await system.clock.advance(1000);
    await crash(system, 'w');
    await system.clock.advance(1000);
    await crash(system, 'w');
    expect(downs.filter((d) => d === 'inner')).toHaveLength(1);
  });

  it("the intensity window includes its boundary, as OTP's (Now =< Then + Period)", async () => {
    const system = await sys(workers);
    const downs: string[] = [];
    system.on('supervisorDown', (d) => downs.push(d.supervisor));
    await system.start(
      supervisor('root', { strategy: 'one_for_one', intensity: 5, period: 60_000 }, [
        supervisor('edge', { strategy: 'one_for_one', intensity: 1, period: 1000 }, [child('e', member)]),
        supervisor('past', { strategy: 'one_for_one', intensity: 1, period: 1000 }, [child('p', member)]),
      ]),
    );
    await crash(system, 'e');
    await crash(system, 'p');
    await system.clock.advance(1000);
    await crash(system, 'e'); // exactly one period later: still in the window, 2 > 1
    expect(downs).toEqual(['edge']);
    await system.clock.advance(1);
    await crash(system, 'p'); // 1001 ms later: the first restart has left the window
    expect(downs).toEqual(['edge']);
  });

  it('a failed start stops the children already started (newest first) and rejects', async () => {
    const system = await sys(workers);
    const dir = mkdtempSync(join(tmpdir(), 'ts-sup-'));
    const flag = join(dir, 'flag');
    writeFileSync(flag, 'broken');
    const stops: string[] = [];
    system.on('stop', (s) => stops.push(s.id));
    const err = await system
      .start(supervisor('root', { strategy: 'one_for_one' }, [child('a', member), child('b', member), child('c', member, { args: { failIfFile: flag } }), child('d', member)]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SupervisorError);
    expect((err as SupervisorError).code).toBe('start_failed');
    await system.clock.advance(0);
    expect(stops).toEqual(['b', 'a']);
    expect(system.has('d')).toBe(false);
  });

  it('a child whose machine can no longer start is retried until intensity runs out, then escalates', async () => {
    const system = await sys(workers);
    const dir = mkdtempSync(join(tmpdir(), 'ts-sup-'));
    const flag = join(dir, 'flag');
    writeFileSync(flag, 'ok');
    const downs: string[] = [];
    system.on('supervisorDown', (d) => downs.push(d.supervisor));
    await system.start(supervisor('root', { strategy: 'one_for_one', intensity: 3, period: 60_000 }, [child('fragile', member, { args: { failIfFile: flag } }), child('other', member)]));
    writeFileSync(flag, 'broken');
    await crash(system, 'fragile');
    await system.clock.advance(0);
    expect(downs).toEqual(['root']);
    expect(system.has('other')).toBe(false);
  });

  it('shutdown: children stop newest first; brutal_kill skips terminate; a stuck terminate is killed after its time', async () => {
    const system = await sys(workers);
    const stops: [string, unknown][] = [];
    system.on('stop', (s) => stops.push([s.id, s.reason]));
    const root = await system.start(
      supervisor('root', { strategy: 'one_for_one' }, [child('first', member), child('slow', stubborn, { shutdown: 50 }), child('brutal', stubborn, { shutdown: 'brutal_kill' })]),
    );
    await root.stop();
    expect(stops).toEqual([
      ['brutal', 'killed'],
      ['slow', 'killed'],
      ['first', 'shutdown'],
    ]);
    expect(root.running).toBe(false);
  });

  it('a significant child exiting normally shuts down an any_significant supervisor', async () => {
    const system = await sys(workers);
    const downs: string[] = [];
    system.on('supervisorDown', (d) => downs.push(d.supervisor));
    await system.start(
      supervisor('job', { strategy: 'one_for_one', autoShutdown: 'any_significant' }, [child('main', member, { restart: 'transient', significant: true }), child('helper', member)]),
    );
    system.ref('main').cast('quit');
    await system.clock.advance(0);
    expect(downs).toEqual(['job']);
    expect(system.has('helper')).toBe(false);
  });

  it('the dynamic API, with OTP’s error cases', async () => {
    const system = await sys(workers);
    const root = await system.start(supervisor('root', { strategy: 'one_for_one' }, [child('a', member)]));
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as SupervisorError).code);
    await root.startChild(child('b', member));
    expect(await code(root.startChild(child('b', member)))).toBe('already_started');
    expect(await code(root.restartChild('b'))).toBe('running');
    expect(await code(root.deleteChild('b'))).toBe('running');
    await root.terminateChild('b');
    expect(system.has('b')).toBe(false);
    expect(await code(root.startChild(child('b', member)))).toBe('already_present');
    await root.restartChild('b');
    expect(system.has('b')).toBe(true);
    await root.terminateChild('b');
    await root.deleteChild('b');
    expect(await code(root.terminateChild('nope'))).toBe('not_found');
    expect(await code(root.restartChild('b'))).toBe('not_found');
    expect(root.whichChildren().map((c) => [c.id, c.type, c.restart, c.status])).toEqual([['a', 'worker', 'permanent', 'running']]);
    expect(root.countChildren()).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
  });

  it('simple_one_for_one: children from a template with their own args, restarted with them', async () => {
    const system = await sys(workers);
    const pool = await system.start(supervisor('quotas', { strategy: 'simple_one_for_one', intensity: 5, template: child('quota', member) }));
    const q1 = await pool.startChild({ tenant: 't1' });
    const q2 = await pool.startChild({ tenant: 't2' });
    expect(await system.ref(q1.id).call('args')).toEqual({ tenant: 't1' });
    const before = await tag(system, q2.id);
    await crash(system, q2.id);
    expect(await tag(system, q2.id)).not.toBe(before);
    expect(await system.ref(q2.id).call('args')).toEqual({ tenant: 't2' });
    const code = await pool.restartChild(q1.id).then(() => 'ok', (e: unknown) => (e as SupervisorError).code);
    expect(code).toBe('simple_one_for_one');
    expect(pool.countChildren().active).toBe(2);
  });

  it('startChild on simple_one_for_one with args its template cannot start with rejects with InitError; the pool goes on', async () => {
    const system = await sys(workers);
    const dir = mkdtempSync(join(tmpdir(), 'ts-sup-'));
    const broken = join(dir, 'flag');
    writeFileSync(broken, 'broken');
    const pool = await system.start(supervisor('pool', { strategy: 'simple_one_for_one', template: child('w', member) }));
    const err = await pool.startChild({ failIfFile: broken }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InitError');
    expect(String((err as { reason?: Error }).reason?.message)).toContain('broken');
    const fine = await pool.startChild({ ok: true });
    expect(await system.ref(fine.id).call('args')).toEqual({ ok: true });
    expect(pool.countChildren().active).toBe(1);
  });

  it('a child that crashes the moment it starts is seen: restarted until intensity runs out, then escalation', async () => {
    const system = await sys(workers);
    const restarts: string[] = [];
    const downs: string[] = [];
    system.on('restart', (r) => restarts.push(r.id));
    system.on('supervisorDown', (d) => downs.push(d.supervisor));
    const root = await system.start(supervisor('root', { strategy: 'one_for_one', intensity: 3, period: 60_000 }, [child('flash', instantCrash)]));
    for (let i = 0; i < 100 && downs.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(restarts).toEqual(['flash', 'flash', 'flash']);
    expect(downs).toEqual(['root']);
    expect(root.running).toBe(false);
    expect(system.has('flash')).toBe(false);
  });

  it('an actor that stops before its spawn is answered leaves no trace: its id is free again', async () => {
    const system = await sys(workers);
    await system.spawn(instantQuit, { id: 'q' });
    for (let i = 0; i < 50 && system.has('q'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(system.has('q')).toBe(false);
    await expect(system.spawn(member, { id: 'q' })).resolves.toBeDefined();
  });

  it('backoff delays a restart, exponentially, off by default', async () => {
    const system = await sys(workers);
    await system.start(supervisor('root', { strategy: 'one_for_one', intensity: 10, period: 100_000 }, [child('slowpoke', member, { backoff: { initial: 100, max: 1000, jitter: 0 } })]));
    await crash(system, 'slowpoke');
    expect(system.has('slowpoke')).toBe(false);
    await system.clock.advance(99);
    expect(system.has('slowpoke')).toBe(false);
    await system.clock.advance(1);
    expect(system.has('slowpoke')).toBe(true);
    await crash(system, 'slowpoke');
    await system.clock.advance(199);
    expect(system.has('slowpoke')).toBe(false);
    await system.clock.advance(1);
    expect(system.has('slowpoke')).toBe(true);
  });
});

describe('supervisor specs', () => {
  it('bad specs are SupervisorError bad_spec where they are written', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as SupervisorError).code;
      }
      return 'accepted';
    };
    expect(bad(() => supervisor('s', { strategy: 'one_for_one' }, [child('x', member), child('x', member)]))).toBe('bad_spec');
    expect(bad(() => supervisor('s', { strategy: 'one_for_some' as never }))).toBe('bad_spec');
    expect(bad(() => supervisor('s', { strategy: 'one_for_one', intensity: -1 }))).toBe('bad_spec');
    expect(bad(() => supervisor('s', { strategy: 'one_for_one', period: 0 }))).toBe('bad_spec');
    expect(bad(() => supervisor('s', { strategy: 'simple_one_for_one' }))).toBe('bad_spec');
    expect(bad(() => child('x', member, { restart: 'sometimes' as never }))).toBe('bad_spec');
    expect(bad(() => child('x', member, { shutdown: -5 }))).toBe('bad_spec');
    expect(bad(() => child('x', member, { significant: true }))).toBe('bad_spec'); // permanent cannot be significant
    expect(bad(() => child('', member))).toBe('bad_spec');
    expect(bad(() => child('x', {} as never))).toBe('bad_spec');
  });
});

describe('supervision across a shard’s death', () => {
  it('children lost with a dead shard are restarted on a live shard; one_for_all also restarts siblings on the other shard', async () => {
    const { createSystem } = await import('threadstate');
    const { bomb } = await import('./fixtures/shards.js');
    const system = await createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' }, watchdog: 400 });
    systems.push(system);
    const restarts: string[] = [];
    system.on('restart', (r) => restarts.push(r.id));
    await system.start(
      supervisor('root', { strategy: 'one_for_all', intensity: 10 }, [
        child('a', member, { shard: 0 }),
        child('b', member, { shard: 1 }),
        child('fuse', bomb, { shard: 0, restart: 'temporary' }),
      ]),
    );
    const before = await tags(system, ['a', 'b']);
    system.ref('fuse').cast('exit'); // takes shard 0 — and 'a' — down with it
    let after: string[] = [];
    for (let i = 0; i < 200; i++) {
      after = await tags(system, ['a', 'b']).catch(() => []);
      if (after.length === 2 && after[0] !== before[0] && after[1] !== before[1]) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]); // a sibling on the live shard, restarted by one_for_all
    expect(restarts).toEqual(['a', 'b']); // 'fuse' is temporary: not restarted
    expect(system.shardOf('a')).toBeGreaterThanOrEqual(0);
  }, 30_000);
});
