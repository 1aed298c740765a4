import { describe, expect, it } from 'vitest';
import { counter } from './fixtures/smoke.js';
import { testSystem, WORKERS } from './helpers.js';

describe.each(WORKERS)('smoke (workers: %i)', (workers) => {
  it('casts then calls', async () => {
    const system = await testSystem({ workers });
    try {
      const ref = await system.spawn(counter, { args: 1 });
      ref.cast(2);
      ref.cast(3);
      expect(await ref.call('get')).toBe(6);
    } finally {
      await system.shutdown();
    }
  });
});
