/**
 * Scenarios 11–14 — supervision and deadlock detection: restart latency (crash → the child
 * answering again), 10k children of a dead shard answering again, the actor-to-actor call round
 * trip with and without deadlock detection, and the time from the call that closes a cycle to
 * its DeadlockError.
 */
import { child, createSystem, supervisor, type ActorSystem } from 'threadstate';
import { nowNs, row, type Row, Samples, size } from './harness.js';
import { actorCaller, closer, crashable, opener } from './supervision-machines.js';
import { toggle } from './toggle.js';

function quiet(workers: number, deadlockDetection = true): Promise<ActorSystem> {
  return createSystem({ workers, db: false, logger: { level: 'silent' }, deadlockDetection });
}

/** Calls until the actor answers (it may be restarting: NoProcError meanwhile). */
async function untilAnswers(system: ActorSystem, id: string): Promise<void> {
  for (;;) {
    try {
      await system.ref(id).call('ping', { timeout: 5000 });
      return;
    } catch {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}

export async function runRestart(): Promise<Row[]> {
  const rows: Row[] = [];
  // 11. Same-shard restart: crash → answering again (workers: 0, the supervisor on the same thread).
  const system = await quiet(0);
  const restarts = size(2000, 500);
  const lat = new Samples();
  const spawnLat = new Samples();
  try {
    await system.start(supervisor('root', { strategy: 'one_for_one', intensity: restarts * 2, period: 60_000 }, [child('w', crashable)]));
    for (let i = 0; i < restarts; i++) {
      const t0 = nowNs();
      system.ref('w').cast('crash');
      await untilAnswers(system, 'w');
      lat.add((nowNs() - t0) / 1e3);
    }
    // Baseline: what spawning a fresh actor and a first call to it cost, in the same run.
    for (let i = 0; i < restarts; i++) {
      const t0 = nowNs();
      const ref = await system.spawn(toggle);
      await ref.call('get');
      spawnLat.add((nowNs() - t0) / 1e3);
      await ref.stop();
    }
  } finally {
    await system.shutdown();
  }
  rows.push(row('11. restart (same thread)', 'crash → answering again, p50', 'µs', lat.percentile(50), { 'spawn + first call': spawnLat.percentile(50) }, { op: '<=', value: 100 }));
  rows.push(row('11. restart (same thread)', 'crash → answering again, p99', 'µs', lat.percentile(99), { 'spawn + first call': spawnLat.percentile(99) }));

  // 12. 10k children of a shard that dies, restarted by their supervisor on a live shard.
  const children = size(10_000, 2000);
  const sharded = await quiet(2);
  try {
    const pool = await sharded.start(supervisor('pool', { strategy: 'simple_one_for_one', intensity: children * 2, period: 60_000, template: child('c', crashable, { shard: 0 }) }));
    const ids: string[] = [];
    for (let i = 0; i < children; i++) ids.push((await pool.startChild(null)).id);
    const fuse = await sharded.spawn(crashable, { id: 'fuse', shard: 0 });
    await Promise.all(ids.map((id) => sharded.ref(id).call('ping')));
    // Every child must have been restarted (answers from the dying shard before it exits do not
    // count: without this wait the figure was sometimes that race, ~50 ms).
    let restarted = 0;
    const allRestarted = new Promise<void>((resolve) =>
      sharded.on('restart', () => {
        if (++restarted === children) resolve();
      }),
    );
    const t0 = nowNs();
    fuse.cast('exit');
    await allRestarted;
    // Then until every child answers again.
    await Promise.all(ids.map((id) => untilAnswers(sharded, id)));
    rows.push(row('12. dead shard', `${children / 1000}k children answering again after their shard died`, 'ms', (nowNs() - t0) / 1e6, {}, { op: '<=', value: 500 }));
  } finally {
    await sharded.shutdown();
  }
  return rows;
}

export async function runDeadlockCost(): Promise<Row[]> {
  const count = size(500_000, 100_000);
  // Both systems live side by side, warmed alike, measured in alternating rounds: the
  // difference is the detection, not which one ran first.
  const systems = { true: await quiet(0, true), false: await quiet(0, false) };
  const runs: Record<string, number[]> = { true: [], false: [] };
  try {
    const pairs: Record<string, { caller: Awaited<ReturnType<ActorSystem['spawn']>>; callee: Awaited<ReturnType<ActorSystem['spawn']>> }> = {};
    for (const on of ['true', 'false'] as const) {
      const system = systems[on];
      pairs[on] = { callee: await system.spawn(toggle), caller: await system.spawn(actorCaller) };
    }
    for (let round = 0; round < 9; round++) {
      for (const on of round % 2 === 0 ? (['true', 'false'] as const) : (['false', 'true'] as const)) {
        const p = pairs[on] as { caller: { call: (m: unknown, o: unknown) => Promise<unknown> }; callee: unknown };
        const us = (await p.caller.call({ to: p.callee, count: round < 2 ? 50_000 : count }, { timeout: 60_000 })) as number;
        if (round >= 2) (runs[on] as number[]).push(us); // the first rounds warm up
      }
    }
  } finally {
    await systems.true.shutdown();
    await systems.false.shutdown();
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] as number;
  const mean: Record<string, number> = { true: med(runs.true as number[]), false: med(runs.false as number[]) };
  const withD = mean.true as number;
  const without = mean.false as number;
  // 14. time from the closing call to its DeadlockError, same thread and across shards
  const refusal: Record<number, Samples> = {};
  for (const workers of [0, 2]) {
    const system = await quiet(workers);
    const s = new Samples();
    try {
      const a = await system.spawn(opener, { shard: 0 });
      const b = await system.spawn(closer, { shard: workers > 0 ? 1 : 0 });
      for (let i = 0; i < size(2000, 500); i++) {
        const us = (await a.call({ via: b })) as number;
        if (us < 0) throw new Error('the cycle was not refused');
        s.add(us);
      }
    } finally {
      await system.shutdown();
    }
    refusal[workers] = s;
  }
  return [
    row('13. deadlock detection cost', 'actor → actor call round trip, detection on', 'µs', withD, { 'detection off': without }),
    row('13. deadlock detection cost', 'cost of detection (on vs off)', '%', ((withD - without) / without) * 100, {}, { op: '<=', value: 5 }),
    row('14. deadlock reported', 'closing call → DeadlockError, same thread, p50', 'µs', (refusal[0] as Samples).percentile(50), {}, { op: '<=', value: 1000 }),
    row('14. deadlock reported', 'closing call → DeadlockError, across shards, p50', 'µs', (refusal[2] as Samples).percentile(50), {}, { op: '<=', value: 1000 }),
  ];
}
