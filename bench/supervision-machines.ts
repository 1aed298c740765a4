/** Machines for the supervision and deadlock scenarios (a module workers can import). */
import { performance } from 'node:perf_hooks';
import { defineMachine, keepAll, reply, type ActorRef } from 'threadstate';

/** Answers any call; throws on the cast 'crash'; the cast 'exit' ends its worker thread. */
export const crashable = defineMachine({
  name: 'bench_crashable',
  init: () => ({ state: 'up', data: null }),
  states: {
    up: {
      call: (_m, _d, from) => keepAll([reply(from, 'up')]),
      cast: (m: string) => {
        if (m === 'crash') throw new Error('crash');
        if (m === 'exit') setImmediate(() => process.exit(1));
        return keepAll();
      },
    },
  },
});

/** `call({ to, count })`: calls `to` count times from this actor (ctx.call) and answers mean µs. */
export const actorCaller = defineMachine({
  name: 'bench_actor_caller',
  init: () => ({ state: 'up', data: null }),
  states: {
    up: {
      call: async (m: { to: ActorRef; count: number }, _d, from, ctx) => {
        const t0 = performance.now();
        for (let i = 0; i < m.count; i++) await ctx.call(m.to, 'x');
        return keepAll([reply(from, ((performance.now() - t0) * 1000) / m.count)]);
      },
    },
  },
});

/** On a call `{ back }`: calls `back` (who is waiting for us) and answers how long the refusal took, µs. */
export const closer = defineMachine({
  name: 'bench_closer',
  init: () => ({ state: 'up', data: null }),
  states: {
    up: {
      call: async (m: { back: ActorRef } | 'x', _d, from, ctx) => {
        if (m === 'x') return keepAll([reply(from, 'x')]);
        const t0 = performance.now();
        const err = await ctx.call(m.back, 'x').catch((e: unknown) => e);
        const us = (performance.now() - t0) * 1000;
        return keepAll([reply(from, (err as Error).name === 'DeadlockError' ? us : -1)]);
      },
    },
  },
});

/** On a call `{ via }`: calls `via` with `{ back: self }`, closing the cycle, and relays its answer. */
export const opener = defineMachine({
  name: 'bench_opener',
  init: () => ({ state: 'up', data: null }),
  states: {
    up: {
      call: async (m: { via: ActorRef }, _d, from, ctx) => keepAll([reply(from, await ctx.call(m.via, { back: ctx.self }))]),
    },
  },
});
