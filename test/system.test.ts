/**
 * The system: spawning and ids, refs, stopping, system events, ctx.spawn and ctx.log, shutdown,
 * and that a shut-down system leaves no handle open (checked in a child process).
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ActorExistsError,
  ActorRef,
  type ActorSystem,
  ActorCrashedError,
  type CrashEvent,
  InitError,
  NoProcError,
  type StopEvent,
  SystemShutdownError,
  type SystemOptions,
  type TransitionEvent,
} from 'threadstate';
import { client, counter, db, flaky, late, named, parent, slowInit, slowStop, stoppable, stuck, talker } from './fixtures/system.js';
import { expectSameError, rejection, settle, sharedSystem, spawnGate, spawnObserver, testSystem, thrown, WORKERS } from './helpers.js';

/** A fresh file for terminate callbacks to append to (they may run on any thread, and after the system is gone). */
function logFile(): { path: string; lines: () => string[] } {
  const path = join(mkdtempSync(join(tmpdir(), 'threadstate-test-')), 'log.txt');
  return {
    path,
    lines: () => {
      try {
        return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
      } catch {
        return [];
      }
    },
  };
}

describe.each(WORKERS)('system (workers: %i)', (workers) => {
  // Most tests share one system; those about auto ids, logging and shutdown get their own.
  const shared = sharedSystem(workers);
  const own: ActorSystem[] = [];
  async function ownSystem(opts: SystemOptions = {}): Promise<ActorSystem> {
    const s = await testSystem({ workers, shutdownTimeout: 50, ...opts });
    own.push(s);
    return s;
  }
  afterEach(async () => {
    await Promise.all(own.splice(0).map((s) => s.shutdown()));
  });

  describe('spawn and ids', () => {
    it('an id can be used once; a taken id is ActorExistsError', async () => {
      const system = shared();
      const a = await system.spawn(counter, { id: 'unique' });
      expect(a.id).toBe('unique');
      const err = await rejection(system.spawn(counter, { id: 'unique' }));
      expect(err).toBeInstanceOf(ActorExistsError);
      expect((err as ActorExistsError).code).toBe('actor_exists');
      expect((err as ActorExistsError).actor).toBe('unique');
      // Once it is gone the id is free again.
      await a.stop();
      const again = await system.spawn(counter, { id: 'unique', args: 5 });
      expect(await again.call('get')).toBe(5);
    });

    it('an id is taken while the first spawn is still in its async init', async () => {
      const system = shared();
      const init = await spawnGate(system);
      const first = system.spawn(slowInit, { id: 'x', args: init.ref });
      await settle(system);
      const err = await rejection(system.spawn(slowInit, { id: 'x', args: init.ref }));
      expect(err).toBeInstanceOf(ActorExistsError);
      init.open();
      const ref = await first;
      expect(await ref.call('q')).toBe('up');
    });

    it('an id whose init failed is free again', async () => {
      const system = shared();
      expect(await rejection(system.spawn(flaky, { id: 'f', args: true }))).toBeInstanceOf(InitError);
      expect(system.has('f')).toBe(false);
      expect((await system.spawn(flaky, { id: 'f', args: false })).id).toBe('f');
    });

    it('auto ids are unique, named after the machine, and reachable with system.ref', async () => {
      const system = await ownSystem();
      const refs = await Promise.all([1, 2, 3].map((n) => system.spawn(counter, { args: n })));
      const ids = refs.map((r) => r.id);
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) expect(id).toMatch(/^counter-/);
      expect(system.actorIds().sort()).toEqual([...ids].sort());
      for (const [i, id] of ids.entries()) expect(await system.ref(id).call('get')).toBe(i + 1);
    });

    it('an auto id skips an id a user took', async () => {
      const system = await ownSystem();
      await system.spawn(counter, { id: 'counter-1' });
      await system.spawn(counter, { id: 'counter-2' });
      const auto = await system.spawn(counter);
      expect(['counter-1', 'counter-2']).not.toContain(auto.id);
      expect(system.actorIds()).toHaveLength(3);
    });

    it('system.ref(id) is an ActorRef that serializes to its id and reaches whoever holds the id when used', async () => {
      const system = shared();
      const early = system.ref('later');
      expect(early).toBeInstanceOf(ActorRef);
      expect(early.id).toBe('later');
      expect(JSON.parse(JSON.stringify(early))).toEqual({ id: 'later' });
      expect(await rejection(early.call('get'))).toBeInstanceOf(NoProcError);
      const first = await system.spawn(counter, { id: 'later', args: 1 });
      expect(await early.call('get')).toBe(1);
      await first.stop();
      await system.spawn(counter, { id: 'later', args: 2 });
      expect(await early.call('get')).toBe(2);
      expect(await first.call('get')).toBe(2); // the old ref reaches the new holder of the id
    });
  });

  describe('stop', () => {
    // stoppable's terminate reports { reason, state, data } to an observer actor.
    it('ref.stop() runs terminate(reason, state, data) and resolves after it', async () => {
      const system = shared();
      const observer = await spawnObserver(system);
      const release = await spawnGate(system);
      const ref = await system.spawn(stoppable, { id: 's', args: { observer: observer.ref, gate: release.ref } });
      ref.cast(1);
      ref.cast(-1); // to state 'b'
      ref.cast(2);
      let stopped = false;
      const p = ref.stop('normal').then(() => (stopped = true));
      await settle(system);
      expect(await observer.entries()).toEqual([{ reason: 'normal', state: 'b', data: [1, 2] }]);
      expect(stopped).toBe(false); // terminate is still running
      release.open();
      await p;
      expect(stopped).toBe(true);
      expect(system.has('s')).toBe(false);
    });

    it("stop() defaults to reason 'normal' and passes other reasons through", async () => {
      const system = shared();
      const observer = await spawnObserver(system);
      const args = { observer: observer.ref };
      await (await system.spawn(stoppable, { args })).stop();
      await (await system.spawn(stoppable, { args })).stop({ shutdown: 'maintenance' });
      await (await system.spawn(stoppable, { args })).stop('custom');
      expect(((await observer.entries()) as { reason: unknown }[]).map((c) => c.reason)).toEqual(['normal', { shutdown: 'maintenance' }, 'custom']);
    });

    it('stop is queued behind the messages sent before it', async () => {
      const system = shared();
      const observer = await spawnObserver(system);
      const ref = await system.spawn(stoppable, { args: { observer: observer.ref } });
      for (let i = 1; i <= 100; i++) ref.cast(i);
      const queuedCall = ref.call('data');
      await ref.stop();
      expect((await queuedCall) as number[]).toHaveLength(100);
      const calls = (await observer.entries()) as { data: number[] }[];
      expect(calls[0]?.data.length).toBe(100);
    });

    it('stopping a stopped or unknown actor rejects with NoProcError', async () => {
      const system = shared();
      const ref = await system.spawn(counter);
      await ref.stop();
      expect(await rejection(ref.stop())).toBeInstanceOf(NoProcError);
      expect(await rejection(system.ref('never-was').stop())).toBeInstanceOf(NoProcError);
    });

    it('stop twice while running: both resolve, terminate runs once', async () => {
      const system = shared();
      const observer = await spawnObserver(system);
      const ref = await system.spawn(stoppable, { args: { observer: observer.ref } });
      await Promise.all([ref.stop(), ref.stop()]);
      expect(await observer.entries()).toHaveLength(1);
    });
  });

  describe('system events', () => {
    it("'transition' events: the initial state, then each state change with the event kind", async () => {
      const system = shared();
      const transitions: TransitionEvent[] = [];
      system.on('transition', (t) => {
        if (t.id === 't') transitions.push(t);
      });
      const ref = await system.spawn(counter, { id: 't' });
      ref.cast(1); // no state change: no event
      expect(await ref.call('go')).toBe('went');
      await system.clock.advance(1000);
      const start = system.clock.now() - 1000;
      expect(transitions).toEqual([
        { id: 't', machine: 'counter', from: undefined, to: 'counting', event: 'init', type: null, at: expect.any(Number) },
        { id: 't', machine: 'counter', from: 'counting', to: 'other', event: 'call', type: 'go', at: expect.any(Number) },
        { id: 't', machine: 'counter', from: 'other', to: 'counting', event: 'state_timeout', type: expect.any(String), at: start + 1000 },
      ]);
    });

    it("'stop' on a normal stop, with id, machine, reason and state; no 'crash'", async () => {
      const system = shared();
      const stops: StopEvent[] = [];
      const crashes: CrashEvent[] = [];
      system.on('stop', (e) => {
        if (e.id === 'calm') stops.push(e);
      });
      system.on('crash', (e) => {
        if (e.id === 'calm') crashes.push(e);
      });
      const ref = await system.spawn(counter, { id: 'calm' });
      await ref.call('go');
      await ref.stop();
      expect(stops).toEqual([{ id: 'calm', machine: 'counter', reason: 'normal', state: 'other' }]);
      expect(crashes).toEqual([]);
    });

    it("a crash emits 'crash' with id, machine, reason, state and the spawn options, and 'stop'", async () => {
      const system = shared();
      const stops: StopEvent[] = [];
      const crashes: CrashEvent[] = [];
      system.on('stop', (e) => {
        if (e.id === 'fragile') stops.push(e);
      });
      system.on('crash', (e) => {
        if (e.id === 'fragile') crashes.push(e);
      });
      const opts = { id: 'fragile', args: 7, mailbox: { capacity: 10 } };
      const ref = await system.spawn(counter, opts);
      ref.cast('crash');
      await settle(system);
      expect(crashes).toHaveLength(1);
      const c = crashes[0] as CrashEvent;
      expect(c.id).toBe('fragile');
      expect(c.machine).toBe('counter');
      expect(c.state).toBe('counting');
      expect(c.reason).toBeInstanceOf(Error);
      expect((c.reason as Error).message).toBe('counter crashed');
      expect(c.spawnOptions).toEqual(opts);
      expect(stops).toHaveLength(1);
      expectSameError(system, stops[0]?.reason, c.reason);
      expect(system.has('fragile')).toBe(false);
    });
  });

  describe('ctx', () => {
    it('ctx.spawn starts another actor from a handler', async () => {
      const system = shared();
      const p = await system.spawn(parent);
      const child = (await p.call('kid-a')) as ActorRef;
      expect(child.id).toBe('kid-a');
      expect(system.has('kid-a')).toBe(true);
      expect(await child.call('get')).toBe(10);
      expect(await system.ref('kid-a').call('get')).toBe(10);
    });

    it('ctx.log is a pino child logger that carries the actor id', async () => {
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
          cb();
        },
      });
      const logger = pino({ level: 'info' }, stream);
      const system = await ownSystem({ logger });
      const ref = await system.spawn(talker, { id: 'chatty' });
      ref.cast('hello from the actor');
      await settle(system);
      await new Promise((r) => setImmediate(r));
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const mine = records.filter((r) => r.msg === 'hello from the actor');
      expect(mine).toHaveLength(1);
      expect(mine[0]?.actor).toBe('chatty');
      expect(mine[0]?.extra).toBe(42);
      expect(mine[0]?.level).toBe(30);
      expect(lines.some((l) => l.includes('"actor":"chatty"'))).toBe(true);
      expect(records.some((r) => r.msg === 'below the level')).toBe(false);
    });
  });

  describe('several systems in one process', () => {
    it('a ref that arrives in a reply reaches the actor in the system that received it, whatever other systems exist', async () => {
      const a = await ownSystem();
      const other = await ownSystem();
      const p = await a.spawn(parent);
      const child = (await p.call('kid-1')) as ActorRef;
      expect(await child.call('get')).toBe(10);
      await other.shutdown();
      const next = (await p.call('kid-2')) as ActorRef;
      expect(await next.call('get')).toBe(11);
    });
  });

  describe('shutdown', () => {
    // Terminates append to a file: they may run on any thread, and the file outlives the system.
    it('stops actors newest first and runs every terminate', async () => {
      const log = logFile();
      const system = await ownSystem();
      await system.spawn(named, { id: 'first', args: { file: log.path, name: 'first' } });
      await system.spawn(named, { id: 'second', args: { file: log.path, name: 'second' } });
      await system.spawn(named, { id: 'third', args: { file: log.path, name: 'third' } });
      await system.shutdown();
      expect(log.lines()).toEqual(['third:shutdown', 'second:shutdown', 'first:shutdown']);
      expect(system.actorIds()).toEqual([]);
    });

    it('stops newest first across shards, also when consecutive actors share a shard', async () => {
      const log = logFile();
      const system = await ownSystem();
      const placed: [string, number][] = [['a', 0], ['b', 0], ['c', 1], ['d', 1], ['e', 0]];
      for (const [id, shard] of placed) await system.spawn(named, { id, args: { file: log.path, name: id }, ...(workers > 0 ? { shard } : {}) });
      await system.shutdown();
      expect(log.lines()).toEqual(['e:shutdown', 'd:shutdown', 'c:shutdown', 'b:shutdown', 'a:shutdown']);
    });

    it('stops newest first even when an older actor still has messages queued', async () => {
      const log = logFile();
      const system = await ownSystem();
      const first = await system.spawn(named, { id: 'first', args: { file: log.path, name: 'first' } });
      await system.spawn(named, { id: 'second', args: { file: log.path, name: 'second' } });
      await system.spawn(named, { id: 'third', args: { file: log.path, name: 'third' } });
      first.cast('still queued when the shutdown starts');
      await system.shutdown();
      expect(log.lines()).toEqual(['third:shutdown', 'second:shutdown', 'first:shutdown']);
    });

    it("a newer actor's terminate can still call an older actor (the older one stops only after the newer has stopped)", async () => {
      const log = logFile();
      const system = await ownSystem();
      const dbRef = await system.spawn(db, { id: 'db', args: log.path });
      await system.spawn(client, { id: 'client', args: { file: log.path, db: dbRef } });
      await system.shutdown();
      expect(log.lines()).toEqual(['client: flushed', 'db terminated']);
    });

    it('calls still pending are settled: queued ones answered, taken ones rejected with NoProcError', async () => {
      const system = await ownSystem();
      const ref = await system.spawn(counter, { args: 3 });
      const held = rejection(ref.call('hold', { timeout: 60_000 }));
      await settle(system);
      const queued = ref.call('get'); // queued before the shutdown: answered first
      await system.shutdown();
      expect(await queued).toBe(3);
      expect(await held).toBeInstanceOf(NoProcError);
    });

    it('an actor stuck in a handler is killed after shutdownTimeout; its callers hear', async () => {
      const system = await ownSystem({ shutdownTimeout: 30 });
      const ref = await system.spawn(stuck);
      const c = rejection(ref.call('x', { timeout: Infinity }));
      await settle(system);
      await system.shutdown();
      const err = await c;
      expect(err instanceof NoProcError || err instanceof ActorCrashedError).toBe(true);
      expect(system.actorIds()).toEqual([]);
    });

    it('after shutdown, call/cast/spawn/ref/sendRequest fail with SystemShutdownError', async () => {
      const system = await ownSystem();
      const ref = await system.spawn(counter, { id: 'c' });
      await system.shutdown();
      expect(await rejection(ref.call('get'))).toBeInstanceOf(SystemShutdownError);
      const castErr = thrown(() => ref.cast(1));
      expect(castErr).toBeInstanceOf(SystemShutdownError);
      expect((castErr as SystemShutdownError).code).toBe('system_shutdown');
      expect(await rejection(system.spawn(counter))).toBeInstanceOf(SystemShutdownError);
      expect(thrown(() => system.ref('c'))).toBeInstanceOf(SystemShutdownError);
      expect(thrown(() => ref.sendRequest('get'))).toBeInstanceOf(SystemShutdownError);
      // shutdown is idempotent
      await system.shutdown();
    });

    it('a spawn whose init finishes during shutdown does not leave a live actor behind', async () => {
      const log = logFile();
      const system = await ownSystem();
      await system.spawn(slowStop);
      // Its init takes 5 ms: it completes while the shutdown is in progress.
      const spawned = system.spawn(late, { id: 'late', args: { file: log.path, delayMs: 5 } }).then(
        () => 'spawned',
        (err: unknown) => err,
      );
      const down = system.shutdown();
      await down;
      const outcome = await spawned;
      // Either the spawn is refused, or the actor it made was stopped (terminate ran) by the shutdown.
      if (outcome === 'spawned') expect(log.lines()).toEqual(['late terminated']);
      else expect(outcome).toBeInstanceOf(SystemShutdownError);
      expect(system.actorIds()).toEqual([]);
    });
  });
});

describe('system with shards (workers: 2)', () => {
  it('a spawn whose init is still running when its shard has finished shutting down is refused; it never hangs', async () => {
    const log = logFile();
    const system = await testSystem({ workers: 2, shutdownTimeout: 50 });
    try {
      await system.spawn(slowStop, { shard: 0 });
      // 'late' goes to the other shard, which has nothing to stop: its shutdown is over before the
      // init (5 ms) completes.
      const spawned = system.spawn(late, { id: 'late', shard: 1, args: { file: log.path, delayMs: 5 } }).then(
        () => 'spawned',
        (err: unknown) => err,
      );
      await system.shutdown();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([spawned, new Promise((r) => (timer = setTimeout(() => r('still pending 2 s after the shutdown'), 2000)))]);
      clearTimeout(timer);
      if (outcome === 'spawned') expect(log.lines()).toEqual(['late terminated']);
      else expect(outcome).toBeInstanceOf(SystemShutdownError);
      expect(system.actorIds()).toEqual([]);
    } finally {
      await system.shutdown();
    }
  }, 20_000);
});

describe('no handle left open after shutdown', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const entry = new URL('../dist/runtime/index.js', import.meta.url).href;

  beforeAll(() => {
    execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'pipe',
    });
  }, 120_000);

  it('a real-clock system with armed 60 s timeouts and in-flight calls exits by itself after shutdown', () => {
    const script = `
      const { createSystem, defineMachine, keep, keepAll, reply, stateTimeout, timeout, eventTimeout } = await import(${JSON.stringify(entry)});
      const system = await createSystem({ workers: 0, db: ':memory:', logger: { level: 'silent' }, shutdownTimeout: 300 });
      const armed = defineMachine({
        name: 'armed',
        init: () => ({ state: 'idle', data: [], actions: [stateTimeout(60000, 'st'), timeout('named', 60000, 'n')] }),
        states: {
          idle: {
            call: (msg, held, from) => msg === 'hold' ? keep([...held, from], [eventTimeout(60000, 'ev')]) : keepAll([reply(from, 'ok')]),
            cast: () => keepAll(),
            state_timeout: () => keepAll(),
            generic_timeout: () => keepAll(),
            timeout: () => keepAll(),
          },
        },
      });
      const stuck = defineMachine({
        name: 'stuck',
        init: () => ({ state: 's', data: null }),
        states: { s: { call: () => new Promise(() => {}) } },
      });
      const refs = [];
      for (let i = 0; i < 5; i++) refs.push(await system.spawn(armed));
      const jam = await system.spawn(stuck);
      const calls = refs.map((r) => r.call('hold', { timeout: 60000 }).then(() => 'resolved', (e) => e.code));
      calls.push(jam.call('x', { timeout: 60000 }).then(() => 'resolved', (e) => e.code));
      const req = refs[0].sendRequest('hold', { timeout: 60000 });
      const waited = refs[1].sendRequest('hold').wait({ timeout: 60000 }).then(() => 'resolved', (e) => e.code);
      await new Promise((r) => setTimeout(r, 20));
      if ((await refs[2].call('ping')) !== 'ok') throw new Error('not running');
      await system.shutdown();
      const outcomes = await Promise.all(calls);
      console.log('RESULT ' + JSON.stringify({ outcomes, request: req.check().status, waited: await waited, left: system.actorIds() }));
    `;
    const started = Date.now();
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 5000, encoding: 'utf8' });
    const took = Date.now() - started;
    expect(res.error, String(res.error)).toBeUndefined();
    expect(res.signal, `killed: the process did not exit by itself\n${res.stderr}`).toBeNull();
    expect(res.status, res.stderr).toBe(0);
    expect(took).toBeLessThan(5000);
    const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, res.stdout + res.stderr).toBeDefined();
    const result = JSON.parse((line as string).slice('RESULT '.length)) as { outcomes: string[]; request: string; waited: string; left: string[] };
    expect(result.outcomes.slice(0, 5)).toEqual(['noproc', 'noproc', 'noproc', 'noproc', 'noproc']);
    expect(result.outcomes[5]).not.toBe('resolved'); // the stuck actor was killed; its caller heard
    expect(result.request).toBe('error');
    expect(result.waited).toBe('noproc');
    expect(result.left).toEqual([]);
  }, 30_000);

  it('createSystem with the default (real) clock and logger, then shutdown, exits by itself', () => {
    const script = `
      const { createSystem, defineMachine, keepAll, stateTimeout } = await import(${JSON.stringify(entry)});
      // workers: 0 — a machine defined in an eval script has no module a worker could import.
      const system = await createSystem({ workers: 0, db: ':memory:', logger: { level: 'silent' } });
      const m = defineMachine({ name: 'm', init: () => ({ state: 's', data: null, actions: [stateTimeout(60000, 'x')] }), states: { s: { state_timeout: () => keepAll() } } });
      await system.spawn(m);
      await system.shutdown();
      console.log('RESULT done');
    `;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 5000, encoding: 'utf8' });
    expect(res.signal, res.stderr).toBeNull();
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('RESULT done');
  }, 30_000);
});
