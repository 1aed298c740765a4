/**
 * Bad input fails where it is written, with a typed error (`instanceof` and `.code`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  type ActorSystem,
  type CrashEvent,
  createSystem,
  defineMachine,
  eventTimeout,
  InitError,
  InvalidArgumentError,
  InvalidMachineError,
  InvalidResultError,
  InvalidTransitionError,
  keep,
  keepAll,
  type MachineSpec,
  next,
  reply,
  stateTimeout,
  SystemShutdownError,
  type SystemOptions,
  ThreadstateError,
  timeout,
  UnhandledEventError,
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

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** Asserts `err` is an instance of `cls` with `code`. */
function expectError(err: unknown, cls: abstract new (...args: never[]) => Error, code: string): void {
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(ThreadstateError);
  expect((err as { code: string }).code).toBe(code);
}

const ok = defineMachine({
  name: 'ok',
  init: () => ({ state: 's', data: 0 }),
  states: { s: { cast: () => keepAll(), call: (_m, d: number, from) => keepAll([reply(from, d)]) } },
});

describe('machines', () => {
  it('spawn with something that is not a machine: InvalidMachineError', async () => {
    const system = await sys();
    const rawSpec = { name: 'raw', init: () => ({ state: 's', data: null }), states: { s: {} } };
    for (const notAMachine of [undefined, null, 42, 'ok', {}, rawSpec, () => ok]) {
      const err = await rejection(system.spawn(notAMachine as never));
      expectError(err, InvalidMachineError, 'invalid_machine');
    }
    expect(system.actorIds()).toEqual([]);
  });

  const init = () => ({ state: 'a', data: null });
  const bad: [string, unknown][] = [
    ['not an object', 'spec'],
    ['null', null],
    ['no name', { init, states: { a: {} } }],
    ['an empty name', { name: '', init, states: { a: {} } }],
    ['a non-string name', { name: 7, init, states: { a: {} } }],
    ['no init', { name: 'm', states: { a: {} } }],
    ['a non-function init', { name: 'm', init: { state: 'a' }, states: { a: {} } }],
    ['both states and handleEvent', { name: 'm', init, states: { a: {} }, handleEvent: () => keepAll() }],
    ['neither states nor handleEvent', { name: 'm', init }],
    ['a non-function handleEvent', { name: 'm', init, handleEvent: 'nope' }],
    ['states that is not an object', { name: 'm', init, states: 'a' }],
    ['no states at all', { name: 'm', init, states: {} }],
    ['a state that is not an object', { name: 'm', init, states: { a: 5 } }],
    ['an unknown handler key', { name: 'm', init, states: { a: { onCast: () => keepAll() } } }],
    ['a misspelt handler key', { name: 'm', init, states: { a: { stateTimeout: () => keepAll() } } }],
    ['a non-function handler', { name: 'm', init, states: { a: { cast: 'keepAll' } } }],
    ['a non-function enter', { name: 'm', init, states: { a: { enter: {} } } }],
    ['a non-function terminate', { name: 'm', init, states: { a: {} }, terminate: 'bye' }],
    ['transitions naming an unknown target state', { name: 'm', init, states: { a: {}, b: {} }, transitions: { a: ['c'] } }],
    ['transitions naming an unknown source state', { name: 'm', init, states: { a: {}, b: {} }, transitions: { z: ['a'] } }],
    ['transitions whose targets are not an array', { name: 'm', init, states: { a: {}, b: {} }, transitions: { a: 'b' } }],
  ];
  for (const [what, spec] of bad) {
    it(`defineMachine with ${what}: InvalidMachineError`, () => {
      const err = thrown(() => defineMachine(spec as MachineSpec<void, unknown> as never));
      expectError(err, InvalidMachineError, 'invalid_machine');
    });
  }

  it('a valid spec is accepted (the cases above fail for their stated reason only)', () => {
    expect(() => defineMachine({ name: 'm', init, states: { a: { cast: () => keepAll() }, b: {} }, transitions: { a: ['b'], b: ['a'] } })).not.toThrow();
    expect(() => defineMachine({ name: 'm', init, handleEvent: () => keepAll() })).not.toThrow();
  });
});

describe('init', () => {
  it('init that throws: spawn rejects with InitError whose reason is the thrown error', async () => {
    const boom = new Error('cannot start');
    const m = defineMachine({
      name: 'thrower',
      init: (): { state: string; data: null } => {
        throw boom;
      },
      states: { s: {} },
    });
    const system = await sys();
    const err = await rejection(system.spawn(m, { id: 'th' }));
    expectError(err, InitError, 'init_failed');
    expect((err as InitError).reason).toBe(boom);
    expect((err as InitError).actor).toBe('th');
    expect(system.has('th')).toBe(false);
  });

  it('async init that rejects: InitError with the rejection as reason', async () => {
    const m = defineMachine({
      name: 'async_thrower',
      init: async (): Promise<{ state: string; data: null }> => {
        await Promise.resolve();
        throw new RangeError('later');
      },
      states: { s: {} },
    });
    const system = await sys();
    const err = await rejection(system.spawn(m));
    expectError(err, InitError, 'init_failed');
    expect((err as InitError).reason).toBeInstanceOf(RangeError);
  });

  const garbage: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a string', 's'],
    ['an object without state', { data: 1 }],
    ['an unknown state', { state: 'nope', data: null }],
    ['a non-string state for a state-functions machine', { state: 1, data: null }],
    ['actions that are not an array', { state: 's', data: null, actions: 'x' }],
    ['garbage among its actions', { state: 's', data: null, actions: [{ type: 0 }] }],
  ];
  for (const [what, value] of garbage) {
    it(`init returning ${what}: InitError whose reason is an InvalidResultError`, async () => {
      const m = defineMachine({ name: 'garbage_init', init: () => value as never, states: { s: { cast: () => keepAll() } } });
      const system = await sys();
      const err = await rejection(system.spawn(m, { id: 'g' }));
      expectError(err, InitError, 'init_failed');
      expectError((err as InitError).reason, InvalidResultError, 'invalid_result');
      expect(system.has('g')).toBe(false);
    });
  }
});

describe('messages and options', () => {
  it('cast(undefined) and send(undefined) throw InvalidArgumentError; call(undefined) rejects with it', async () => {
    const system = await sys();
    const ref = await system.spawn(ok);
    expectError(
      thrown(() => ref.cast(undefined)),
      InvalidArgumentError,
      'invalid_argument',
    );
    expectError(
      thrown(() => ref.send(undefined)),
      InvalidArgumentError,
      'invalid_argument',
    );
    expectError(await rejection(ref.call(undefined)), InvalidArgumentError, 'invalid_argument');
    expect(await ref.call('still fine')).toBe(0);
  });

  it('negative or NaN times in timeout actions throw InvalidArgumentError', () => {
    const cases: (() => unknown)[] = [
      () => stateTimeout(-1),
      () => stateTimeout(NaN),
      () => eventTimeout(NaN),
      () => eventTimeout(-0.5),
      () => timeout('x', -5),
      () => timeout('x', NaN),
      () => stateTimeout('10' as never),
      () => stateTimeout(10, 'm', { at: NaN }),
      () => timeout('', 10),
    ];
    for (const c of cases) expectError(thrown(c), InvalidArgumentError, 'invalid_argument');
    // Their valid neighbours are fine.
    expect(() => stateTimeout(0)).not.toThrow();
    expect(() => eventTimeout(Infinity)).not.toThrow();
    expect(() => timeout('x', 5)).not.toThrow();
  });

  it('a call with a negative, zero or NaN timeout, or a signal that is not an AbortSignal, rejects with InvalidArgumentError', async () => {
    const system = await sys();
    const ref = await system.spawn(ok);
    for (const opts of [{ timeout: -1 }, { timeout: NaN }, { timeout: 0 }, { timeout: '100' as never }, { signal: {} as never }]) {
      expectError(await rejection(ref.call('x', opts)), InvalidArgumentError, 'invalid_argument');
    }
  });

  it('spawn with shard 5 on a workers:0 system, mailbox capacity 0, or id "": InvalidArgumentError', async () => {
    const system = await sys();
    const badOptions = [
      { shard: 5 },
      { shard: -1 },
      { shard: 0.5 },
      { mailbox: { capacity: 0 } },
      { mailbox: { capacity: -3 } },
      { mailbox: { capacity: 2.5 } },
      { mailbox: 10 as never },
      { id: '' },
      { id: 42 as never },
      { durability: 'sometimes' as never },
    ];
    for (const opts of badOptions) {
      const err = await rejection(system.spawn(ok, opts));
      expectError(err, InvalidArgumentError, 'invalid_argument');
    }
    expect(system.actorIds()).toEqual([]);
    // shard 0 is the one shard of a workers:0 system.
    expect((await system.spawn(ok, { shard: 0 })).id).toMatch(/^ok-/);
  });

  it('createSystem with workers -1 (or a fraction, or a bad clock): InvalidArgumentError', async () => {
    for (const opts of [{ workers: -1 }, { workers: 1.5 }, { workers: NaN }, { clock: 'fast' as never }, { callTimeout: -5 }]) {
      expectError(await rejection(createSystem({ logger: { level: 'silent' }, ...opts })), InvalidArgumentError, 'invalid_argument');
    }
  });

  it('system.ref with an empty or non-string id: InvalidArgumentError', async () => {
    const system = await sys();
    expectError(
      thrown(() => system.ref('')),
      InvalidArgumentError,
      'invalid_argument',
    );
    expectError(
      thrown(() => system.ref(5 as never)),
      InvalidArgumentError,
      'invalid_argument',
    );
  });

  it('clock.advance with a negative time: InvalidArgumentError', async () => {
    const system = await sys();
    expectError(await rejection(system.clock.advance(-1)), InvalidArgumentError, 'invalid_argument');
  });

  it('call after shutdown: SystemShutdownError', async () => {
    const system = await sys();
    const ref = await system.spawn(ok);
    await system.shutdown();
    expectError(await rejection(ref.call('x')), SystemShutdownError, 'system_shutdown');
  });
});

describe('bad results crash the actor', () => {
  /** Spawns a machine whose call handler returns `value`; returns the caller's error and the crash event. */
  async function crashWith(value: () => unknown): Promise<{ callerError: unknown; crash: CrashEvent | undefined }> {
    const m = defineMachine({
      name: 'bad_result',
      init: () => ({ state: 's', data: null }),
      states: { s: { call: () => value() as never } },
    });
    const system = await sys();
    const crashes: CrashEvent[] = [];
    system.on('crash', (e) => crashes.push(e));
    const ref = await system.spawn(m, { id: 'bad' });
    const callerError = await rejection(ref.call('go'));
    await flush();
    expect(system.has('bad')).toBe(false);
    return { callerError, crash: crashes[0] };
  }

  const results: [string, () => unknown][] = [
    ['undefined', () => undefined],
    ['a number', () => 42],
    ['a plain object', () => ({ state: 's', data: null })],
    ['a look-alike of a result', () => ({ type: 1, data: null, actions: null })],
    ['a promise of undefined', async () => undefined],
    ['an action instead of a result', () => stateTimeout(10)],
    ['an action array containing garbage', () => keepAll(['garbage' as never])],
    ['an action array containing null', () => keep(null, [stateTimeout(5), null as never])],
    ['an action array containing a plain object', () => keepAll([{ type: 0, a: 1 } as never])],
  ];
  for (const [what, value] of results) {
    it(`a handler returning ${what}: crash with InvalidResultError; the caller gets ActorCrashedError`, async () => {
      const { callerError, crash } = await crashWith(value);
      expectError(callerError, ActorCrashedError, 'actor_crashed');
      const reason = (callerError as ActorCrashedError).reason;
      expectError(reason, InvalidResultError, 'invalid_result');
      expect(crash?.id).toBe('bad');
      expect(crash?.reason).toBe(reason);
    });
  }

  it('reply() with something that is not a from handle throws InvalidArgumentError in the handler (a crash)', async () => {
    const { callerError } = await crashWith(() => keepAll([reply(undefined as never, 1)]));
    expectError((callerError as ActorCrashedError).reason, InvalidArgumentError, 'invalid_argument');
  });

  it('a state change that transitions do not allow: crash with InvalidTransitionError', async () => {
    const m = defineMachine({
      name: 'strict',
      init: () => ({ state: 'a', data: null }),
      transitions: { a: ['b'], b: ['c'], c: [] },
      states: {
        a: { call: (to: string, d, from) => next(to, d, [reply(from, `to ${to}`)]) },
        b: { call: (to: string, d, from) => next(to, d, [reply(from, `to ${to}`)]) },
        c: { call: (to: string, d, from) => next(to, d, [reply(from, `to ${to}`)]) },
      },
    });
    const system = await sys();
    const crashes: CrashEvent[] = [];
    system.on('crash', (e) => crashes.push(e));
    const ref = await system.spawn(m, { id: 'strict' });
    expect(await ref.call('b')).toBe('to b');
    expect(await ref.call('b')).toBe('to b'); // staying is not a transition
    const err = await rejection(ref.call('a'));
    expectError(err, ActorCrashedError, 'actor_crashed');
    const reason = (err as ActorCrashedError).reason as InvalidTransitionError;
    expectError(reason, InvalidTransitionError, 'invalid_transition');
    expect(reason.machine).toBe('strict');
    expect(reason.from).toBe('b');
    expect(reason.to).toBe('a');
    expect(crashes[0]?.reason).toBe(reason);
    expect(crashes[0]?.state).toBe('b'); // it did not move
  });

  it('a state with an empty transitions list may not go anywhere', async () => {
    const m = defineMachine({
      name: 'dead_end',
      init: () => ({ state: 'end', data: null }),
      transitions: { end: [] },
      states: {
        end: { call: (_m, d, from) => next('start', d, [reply(from, 'moved')]) },
        start: {},
      },
    });
    const system = await sys();
    const ref = await system.spawn(m);
    expectError(((await rejection(ref.call('x'))) as ActorCrashedError).reason, InvalidTransitionError, 'invalid_transition');
  });

  it('a transitions table is the whole diagram: a change from a state it does not list is refused too', async () => {
    const m = defineMachine({
      name: 'partly_strict',
      init: () => ({ state: 'free', data: null }),
      transitions: { a: ['b'] },
      states: {
        free: { call: (to: string, d, from) => next(to, d, [reply(from, `to ${to}`)]) },
        a: { call: (to: string, d, from) => next(to, d, [reply(from, `to ${to}`)]) },
        b: {},
      },
    });
    const system = await sys();
    const ref = await system.spawn(m);
    const err = (await rejection(ref.call('a'))) as ActorCrashedError;
    expectError(err.reason, InvalidTransitionError, 'invalid_transition');
  });

  it('going to a state the machine does not have: crash with InvalidResultError', async () => {
    const { callerError } = await crashWith(() => next('nowhere', null));
    expectError((callerError as ActorCrashedError).reason, InvalidResultError, 'invalid_result');
  });

  it('an event with no handler in the current state: crash with UnhandledEventError', async () => {
    const m = defineMachine({
      name: 'picky',
      init: () => ({ state: 'only_calls', data: null }),
      states: { only_calls: { call: (_m, _d, from) => keepAll([reply(from, 'ok')]) } },
    });
    const system = await sys();
    const crashes: CrashEvent[] = [];
    system.on('crash', (e) => crashes.push(e));
    const ref = await system.spawn(m, { id: 'picky' });
    expect(await ref.call('x')).toBe('ok');
    ref.cast('unexpected');
    await flush();
    expect(crashes).toHaveLength(1);
    const reason = crashes[0]?.reason as UnhandledEventError;
    expectError(reason, UnhandledEventError, 'unhandled_event');
    expect(reason.kind).toBe('cast');
    expect(reason.state).toBe('only_calls');
    expect(reason.machine).toBe('picky');
    expect(system.has('picky')).toBe(false);
  });

  it('an unhandled call crashes the actor and the caller hears ActorCrashedError(UnhandledEventError)', async () => {
    const m = defineMachine({
      name: 'casts_only',
      init: () => ({ state: 's', data: null }),
      states: { s: { cast: () => keepAll() } },
    });
    const system = await sys();
    const ref = await system.spawn(m);
    const err = await rejection(ref.call('q'));
    expectError(err, ActorCrashedError, 'actor_crashed');
    expectError((err as ActorCrashedError).reason, UnhandledEventError, 'unhandled_event');
  });
});
