/**
 * Circular-call deadlock detection: the call that would close a cycle of actors waiting on each
 * other fails at once with DeadlockError naming the cycle in wait order; the rest of the cycle
 * goes on. Across shards, through a busy actor's mailbox, from a retried postponed event, with
 * concurrent calls — and never for a call graph without a cycle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSystem, DeadlockError, type ActorRef, type ActorSystem, type DeadlockEvent } from 'threadstate';
import { testSystem } from './helpers.js';
import { doorman, firer, gate, graphNode, holder, node, type Script } from './fixtures/deadlock.js';

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((s) => s.shutdown()));
  systems = [];
});

async function sys(workers: number): Promise<ActorSystem> {
  const system = await createSystem({ workers, db: ':memory:', logger: { level: 'silent' } });
  systems.push(system);
  return system;
}

const call = (to: ActorRef, msg: Script) => ({ to, msg });
const deadlockIn = (x: unknown): { error: string; cycle?: string[] } | undefined => {
  if (typeof x === 'object' && x !== null && 'error' in x) return x as { error: string; cycle?: string[] };
  if (Array.isArray(x)) for (const y of x) {
    const d = deadlockIn(y);
    if (d !== undefined) return d;
  }
  return undefined;
};

describe.each([0, 2])('deadlock detection (workers: %i)', (workers) => {
  it('A ↔ B: the closing call fails at once, naming the cycle in wait order; the other call completes', async () => {
    const system = await sys(workers);
    const events: DeadlockEvent[] = [];
    system.on('deadlock', (e) => events.push(e));
    const a = await system.spawn(node, { id: 'A', shard: 0 });
    const b = await system.spawn(node, { id: 'B', shard: workers > 1 ? 1 : 0 });
    const t0 = Date.now();
    const out = await a.call({ steps: [call(b, { steps: [call(a, { steps: [] })] })] });
    expect(Date.now() - t0).toBeLessThan(1000); // not a 5 s timeout
    // B's call back to A is the one that closes B → A → B.
    expect(out).toEqual([[{ error: 'DeadlockError', cycle: ['B', 'A'] }]]);
    for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual([{ cycle: ['B', 'A'] }]);
    // The graph is clean again: the same actors call each other without a cycle.
    expect(await a.call({ steps: [call(b, { steps: [] })] })).toEqual([[]]);
  });

  it('a cycle through a call queued in a busy actor’s mailbox, from two separate call chains', async () => {
    const system = await sys(workers);
    const [a, b, c, g] = await Promise.all(['A', 'B', 'C', 'G'].map((id, i) => system.spawn(id === 'G' ? gate : node, { id, shard: workers > 1 ? i % 2 : 0 })));
    const ra = a!, rb = b!, rc = c!, rg = g!;
    // Chain 1: A waits for C, which waits at the gate before it will call B.
    const chain1 = ra.call({ steps: [call(rc, { steps: [call(rg, 'wait'), call(rb, { steps: [] })] })] }, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 50));
    // Chain 2: B calls A — A is busy, so the call waits in A's mailbox: B waits for A.
    const chain2 = rb.call({ steps: [call(ra, { steps: [] })] }, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 50));
    rg.cast('open'); // C goes on and calls B: C → B → A → C
    const [o1, o2] = await Promise.all([chain1, chain2]);
    expect(deadlockIn(o1)).toEqual({ error: 'DeadlockError', cycle: ['C', 'B', 'A'] });
    expect(o2).toEqual([[]]); // B's call to A was answered once A was free again
  });

  it('a call made while retrying a postponed event', async () => {
    const system = await sys(workers);
    const door = await system.spawn(doorman, { id: 'door', shard: 0 });
    const b = await system.spawn(node, { id: 'B', shard: workers > 1 ? 1 : 0 });
    door.cast({ callTo: b }); // postponed: the door is closed
    const waiting = b.call({ steps: [call(door, { steps: [] })] }, { timeout: 30_000 }); // B waits for door (postponed too)
    await new Promise((r) => setTimeout(r, 50));
    door.cast('open'); // retried: door calls B, which waits for door
    expect(await waiting).toEqual([[]]);
    expect(await door.call('log')).toEqual([{ error: 'DeadlockError', cycle: ['door', 'B'] }]);
  });

  it('several concurrent calls from one handler: the branch that loops back is refused, the others complete', async () => {
    const system = await sys(workers);
    const [a, b, c, d] = await Promise.all(['A', 'B', 'C', 'D'].map((id, i) => system.spawn(node, { id, shard: workers > 1 ? i % 2 : 0 })));
    const out = await a!.call({ steps: [{ all: [call(b!, { steps: [call(d!, { steps: [] })] }), call(c!, { steps: [call(a!, { steps: [] })] })] }] });
    expect(out).toEqual([[[[]], [{ error: 'DeadlockError', cycle: ['C', 'A'] }]]]);
  });

  it('a call left un-awaited does not block its caller: a call back to it is no deadlock', async () => {
    const system = await sys(workers);
    const a = await system.spawn(firer, { id: 'A', shard: 0 });
    const b = await system.spawn(holder, { id: 'B', shard: workers > 1 ? 1 : 0 });
    expect(await a.call({ fire: b })).toBe('fired'); // A's handler returned; its call to B is pending
    expect(await b.call({ ask: a })).toBe('pong'); // B → A: A is free, so no cycle
  });

  it('calling yourself is CallingSelfError, not a deadlock; calls from outside actors are never part of a cycle', async () => {
    const system = await sys(workers);
    const a = await system.spawn(node, { id: 'A' });
    expect(await a.call({ steps: [call(a, { steps: [] })] })).toEqual([{ error: 'CallingSelfError', cycle: undefined }]);
  });
});

describe('deadlock detection across three shards', () => {
  it('A → B → C → A with A, B and C on three shards', async () => {
    const system = await sys(3);
    const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((id, i) => system.spawn(node, { id, shard: i })));
    const out = await a!.call({ steps: [call(b!, { steps: [call(c!, { steps: [call(a!, { steps: [] })] })] })] });
    expect(deadlockIn(out)).toEqual({ error: 'DeadlockError', cycle: ['C', 'A', 'B'] });
    expect(new DeadlockError(['C', 'A', 'B']).message).toContain('C -> A -> B -> C');
  }, 30_000);
});

describe('no false positive, no miss: random call graphs', () => {
  /** Deterministic PRNG (mulberry32). */
  function rng(seed: number): () => number {
    return () => {
      seed |= 0;
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Whether a cycle is reachable from node 0. */
  function cycleFromRoot(adj: number[][]): boolean {
    const state = new Array<number>(adj.length).fill(0); // 0 new, 1 on stack, 2 done
    const visit = (v: number): boolean => {
      state[v] = 1;
      for (const w of adj[v] as number[]) {
        if (state[w] === 1) return true;
        if (state[w] === 0 && visit(w)) return true;
      }
      state[v] = 2;
      return false;
    };
    return visit(0);
  }

  it.each([0, 2])('acyclic graphs never report a deadlock; graphs with a reachable cycle always do (workers: %i)', async (workers) => {
    const system = await testSystem({ workers, clock: 'real' });
    systems.push(system);
    const random = rng(20261125 + workers);
    let cyclic = 0;
    for (let g = 0; g < 60; g++) {
      const n = 2 + Math.floor(random() * 6);
      const adj: number[][] = Array.from({ length: n }, () => []);
      const acyclic = random() < 0.5;
      for (let v = 0; v < n; v++)
        for (let w = 0; w < n; w++) {
          if (v === w) continue;
          if (acyclic && w < v) continue; // edges only forward: a DAG
          if (random() < 0.35) adj[v]!.push(w);
        }
      const refs = await Promise.all(adj.map((_, v) => system.spawn(graphNode, { id: `g${g}n${v}` })));
      // Set up with calls, not casts: node 0's calls reach the others over other thread pairs.
      await Promise.all(adj.map((children, v) => refs[v]!.call({ children: children.map((w) => refs[w]!) })));
      const seen = (await refs[0]!.call('go', { timeout: 30_000 })) as number;
      const expected = cycleFromRoot(adj);
      if (expected) cyclic++;
      expect(seen > 0, `graph ${g}: ${JSON.stringify(adj)}`).toBe(expected);
      await Promise.all(refs.map((r) => r.stop()));
    }
    expect(cyclic).toBeGreaterThanOrEqual(10); // the generator did produce cycles
  }, 60_000);
});
