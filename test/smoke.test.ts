import { describe, expect, it } from 'vitest';
import { defineMachine, keep, keepAll, reply } from 'threadstate';
import { testSystem } from './helpers.js';

const counter = defineMachine({
  name: 'counter',
  init: (n: number) => ({ state: 'counting', data: n }),
  states: {
    counting: {
      cast: (by: number, n: number) => keep(n + by),
      call: (_msg, n: number, from) => keepAll([reply(from, n)]),
    },
  },
});

describe('smoke', () => {
  it('casts then calls', async () => {
    const system = await testSystem();
    const ref = await system.spawn(counter, { args: 1 });
    ref.cast(2);
    ref.cast(3);
    expect(await ref.call('get')).toBe(6);
    await system.shutdown();
  });
});
