/**
 * Bad input fails where it is written, with a typed error (`instanceof` and `.code`).
 */
import { describe, expect, it } from 'vitest';
import {
  ActorCrashedError,
  type ActorSystem,
  type CrashEvent,
  createSystem,
  defineMachine,
  EncodeError,
  eventTimeout,
  InitError,
  InvalidArgumentError,
  InvalidMachineError,
  InvalidResultError,
  InvalidTransitionError,
  keepAll,
  MachineLoadError,
  type MachineSpec,
  reply,
  stateTimeout,
  SystemShutdownError,
  ThreadstateError,
  timeout,
  UnhandledEventError,
} from 'threadstate';
import {
  asyncThrower,
  badResult,
  cannotStart,
  castsOnly,
  deadEnd,
  GARBAGE_INITS,
  garbageInit,
  ok,
  partlyStrict,
  picky,
  strict,
  thrower,
} from './fixtures/bad-input.js';
import { expectSameError, rejection, settle, sharedSystem, testSystem, thrown, WORKERS } from './helpers.js';

/** Asserts `err` is an instance of `cls` with `code`. */
function expectError(err: unknown, cls: abstract new (...args: never[]) => Error, code: string): void {
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(ThreadstateError);
  expect((err as { code: string }).code).toBe(code);
}

/**
 * Defined in this test file: a worker thread cannot import it (the file imports the test runner),
 * so it runs only on a workers: 0 system.
 */
const inTestFile = defineMachine({
  name: 'in_test_file',
  init: () => ({ state: 's', data: null }),
  states: { s: { call: (_m, _d, from) => keepAll([reply(from, 'here')]) } },
});

/** A machine that says it has no module (module: ''): likewise only for workers: 0. */
const noModule = defineMachine({
  name: 'no_module',
  module: '',
  init: () => ({ state: 's', data: null }),
  states: { s: { call: (_m, _d, from) => keepAll([reply(from, 'here')]) } },
});

// ---------------------------------------------------------------- no system involved

describe('machines', () => {
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

describe('actions and options checked where they are written', () => {
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

  it('createSystem with workers -1 (or a fraction, or a bad clock): InvalidArgumentError', async () => {
    for (const opts of [{ workers: -1 }, { workers: 1.5 }, { workers: NaN }, { clock: 'fast' as never }, { callTimeout: -5 }]) {
      expectError(await rejection(createSystem({ logger: { level: 'silent' }, ...opts })), InvalidArgumentError, 'invalid_argument');
    }
  });

});

// ---------------------------------------------------------------- on a system, on the calling thread and on worker threads

describe.each(WORKERS)('bad input (workers: %i)', (workers) => {
  const sys = sharedSystem(workers);

  describe('machines', () => {
    it('spawn with something that is not a machine: InvalidMachineError', async () => {
      const system = sys();
      const rawSpec = { name: 'raw', init: () => ({ state: 's', data: null }), states: { s: {} } };
      for (const notAMachine of [undefined, null, 42, 'ok', {}, rawSpec, () => ok]) {
        const err = await rejection(system.spawn(notAMachine as never));
        expectError(err, InvalidMachineError, 'invalid_machine');
      }
      expect(system.actorIds()).toEqual([]);
    });

    if (workers === 0) {
      it('a machine a worker could not load (defined in a test file, or with no module) runs on the calling thread', async () => {
        const system = sys();
        expect(await (await system.spawn(inTestFile)).call('where')).toBe('here');
        expect(await (await system.spawn(noModule)).call('where')).toBe('here');
      });
    } else {
      it('a machine a worker cannot load is a clear error at spawn, not a hang: MachineLoadError (defined in a test file) or InvalidMachineError (no module)', async () => {
        const system = sys();
        const loadErr = await rejection(system.spawn(inTestFile, { id: 'in-test-file' }));
        expectError(loadErr, MachineLoadError, 'machine_load');
        expect((loadErr as MachineLoadError).message).toContain('bad-input.test.ts');
        const noModuleErr = await rejection(system.spawn(noModule, { id: 'no-module' }));
        expectError(noModuleErr, InvalidMachineError, 'invalid_machine');
        expect(system.has('in-test-file')).toBe(false);
        expect(system.has('no-module')).toBe(false);
      });
    }
  });

  describe('init', () => {
    it('init that throws: spawn rejects with InitError whose reason is the thrown error', async () => {
      const system = sys();
      const err = await rejection(system.spawn(thrower, { id: 'th' }));
      expectError(err, InitError, 'init_failed');
      expectSameError(system, (err as InitError).reason, cannotStart);
      expect((err as InitError).actor).toBe('th');
      expect(system.has('th')).toBe(false);
    });

    it('async init that rejects: InitError with the rejection as reason', async () => {
      const system = sys();
      const err = await rejection(system.spawn(asyncThrower));
      expectError(err, InitError, 'init_failed');
      expect((err as InitError).reason).toBeInstanceOf(RangeError);
    });

    for (const what of Object.keys(GARBAGE_INITS)) {
      it(`init returning ${what}: InitError whose reason is an InvalidResultError`, async () => {
        const system = sys();
        const err = await rejection(system.spawn(garbageInit, { id: 'g', args: what }));
        expectError(err, InitError, 'init_failed');
        expectError((err as InitError).reason, InvalidResultError, 'invalid_result');
        expect(system.has('g')).toBe(false);
      });
    }
  });

  describe('messages and options', () => {
    it('cast(undefined) and send(undefined) throw InvalidArgumentError; call(undefined) rejects with it', async () => {
      const system = sys();
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

    it('a call with a negative, zero or NaN timeout, or a signal that is not an AbortSignal, rejects with InvalidArgumentError', async () => {
      const system = sys();
      const ref = await system.spawn(ok);
      for (const opts of [{ timeout: -1 }, { timeout: NaN }, { timeout: 0 }, { timeout: '100' as never }, { signal: {} as never }]) {
        expectError(await rejection(ref.call('x', opts)), InvalidArgumentError, 'invalid_argument');
      }
    });

    it('spawn with a shard the system does not have (5), mailbox capacity 0, or id "": InvalidArgumentError', async () => {
      const system = sys();
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
      // shard 0 is the one shard of a workers:0 system, and the first of a workers:2 one.
      expect((await system.spawn(ok, { shard: 0 })).id).toMatch(/^ok-/);
    });

    it('system.ref with an empty or non-string id: InvalidArgumentError', async () => {
      const system = sys();
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
      const system = sys();
      expectError(await rejection(system.clock.advance(-1)), InvalidArgumentError, 'invalid_argument');
    });

    it('call after shutdown: SystemShutdownError', async () => {
      const system = await testSystem({ workers, shutdownTimeout: 50 });
      try {
        const ref = await system.spawn(ok);
        await system.shutdown();
        expectError(await rejection(ref.call('x')), SystemShutdownError, 'system_shutdown');
      } finally {
        await system.shutdown();
      }
    });

    if (workers === 0) {
      it('messages and spawn args stay on the calling thread: they may hold anything, functions too', async () => {
        const system = sys();
        const fn = () => 1;
        const ref = await system.spawn(ok, { args: { fn } as never });
        expect(() => ref.cast({ fn })).not.toThrow();
        expect(await ref.call({ fn })).toBe(0);
      });
    } else {
      it('a message or spawn args that cannot cross threads (a function): EncodeError where it is sent', async () => {
        const system = sys();
        const fn = () => 1;
        expectError(await rejection(system.spawn(ok, { args: { fn } as never })), EncodeError, 'encode');
        const ref = await system.spawn(ok);
        expectError(
          thrown(() => ref.cast({ fn })),
          EncodeError,
          'encode',
        );
        expectError(await rejection(ref.call({ fn })), EncodeError, 'encode');
        expect(await ref.call('still fine')).toBe(0);
      });
    }
  });

  describe('bad results crash the actor', () => {
    /** Spawns a bad_result actor whose call handler returns the case `what`; returns the caller's error and the crash event. */
    async function crashWith(what: string): Promise<{ system: ActorSystem; callerError: unknown; crash: CrashEvent | undefined }> {
      const system = sys();
      const crashes: CrashEvent[] = [];
      system.on('crash', (e) => {
        if (e.id === 'bad') crashes.push(e);
      });
      const ref = await system.spawn(badResult, { id: 'bad', args: what });
      const callerError = await rejection(ref.call('go'));
      await settle(system);
      expect(system.has('bad')).toBe(false);
      return { system, callerError, crash: crashes[0] };
    }

    const results = [
      'undefined',
      'a number',
      'a plain object',
      'a look-alike of a result',
      'a promise of undefined',
      'an action instead of a result',
      'an action array containing garbage',
      'an action array containing null',
      'an action array containing a plain object',
    ];
    for (const what of results) {
      it(`a handler returning ${what}: crash with InvalidResultError; the caller gets ActorCrashedError`, async () => {
        const { system, callerError, crash } = await crashWith(what);
        expectError(callerError, ActorCrashedError, 'actor_crashed');
        const reason = (callerError as ActorCrashedError).reason;
        expectError(reason, InvalidResultError, 'invalid_result');
        expect(crash?.id).toBe('bad');
        expectSameError(system, crash?.reason, reason);
      });
    }

    it('reply() with something that is not a from handle throws InvalidArgumentError in the handler (a crash)', async () => {
      const { callerError } = await crashWith('reply to something that is not a from handle');
      expectError((callerError as ActorCrashedError).reason, InvalidArgumentError, 'invalid_argument');
    });

    it('a state change that transitions do not allow: crash with InvalidTransitionError', async () => {
      const system = sys();
      const crashes: CrashEvent[] = [];
      system.on('crash', (e) => {
        if (e.id === 'strict') crashes.push(e);
      });
      const ref = await system.spawn(strict, { id: 'strict' });
      expect(await ref.call('b')).toBe('to b');
      expect(await ref.call('b')).toBe('to b'); // staying is not a transition
      const err = await rejection(ref.call('a'));
      expectError(err, ActorCrashedError, 'actor_crashed');
      const reason = (err as ActorCrashedError).reason as InvalidTransitionError;
      expectError(reason, InvalidTransitionError, 'invalid_transition');
      expect(reason.machine).toBe('strict');
      expect(reason.from).toBe('b');
      expect(reason.to).toBe('a');
      expectSameError(system, crashes[0]?.reason, reason);
      expect(crashes[0]?.state).toBe('b'); // it did not move
    });

    it('a state with an empty transitions list may not go anywhere', async () => {
      const ref = await sys().spawn(deadEnd);
      expectError(((await rejection(ref.call('x'))) as ActorCrashedError).reason, InvalidTransitionError, 'invalid_transition');
    });

    it('a transitions table is the whole diagram: a change from a state it does not list is refused too', async () => {
      const ref = await sys().spawn(partlyStrict);
      const err = (await rejection(ref.call('a'))) as ActorCrashedError;
      expectError(err.reason, InvalidTransitionError, 'invalid_transition');
    });

    it('going to a state the machine does not have: crash with InvalidResultError', async () => {
      const { callerError } = await crashWith('a state the machine does not have');
      expectError((callerError as ActorCrashedError).reason, InvalidResultError, 'invalid_result');
    });

    it('an event with no handler in the current state: crash with UnhandledEventError', async () => {
      const system = sys();
      const crashes: CrashEvent[] = [];
      system.on('crash', (e) => {
        if (e.id === 'picky') crashes.push(e);
      });
      const ref = await system.spawn(picky, { id: 'picky' });
      expect(await ref.call('x')).toBe('ok');
      ref.cast('unexpected');
      await settle(system);
      expect(crashes).toHaveLength(1);
      const reason = crashes[0]?.reason as UnhandledEventError;
      expectError(reason, UnhandledEventError, 'unhandled_event');
      expect(reason.kind).toBe('cast');
      expect(reason.state).toBe('only_calls');
      expect(reason.machine).toBe('picky');
      expect(system.has('picky')).toBe(false);
    });

    it('an unhandled call crashes the actor and the caller hears ActorCrashedError(UnhandledEventError)', async () => {
      const ref = await sys().spawn(castsOnly);
      const err = await rejection(ref.call('q'));
      expectError(err, ActorCrashedError, 'actor_crashed');
      expectError((err as ActorCrashedError).reason, UnhandledEventError, 'unhandled_event');
    });
  });
});
