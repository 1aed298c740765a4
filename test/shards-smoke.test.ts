import { describe, expect, it } from 'vitest';
import { createSystem } from 'threadstate';
import { counter } from './fixtures/basic.js';

describe('shards smoke', () => {
  it('spawns on worker threads and answers calls and casts', async () => {
    const system = await createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' } });
    try {
      const a = await system.spawn(counter, { id: 'a', shard: 0 });
      const b = await system.spawn(counter, { id: 'b', shard: 1, args: 10 });
      a.cast(1);
      b.cast(2);
      expect(await a.call('n')).toBe(1);
      expect(await b.call('n')).toBe(12);
      const ta = await a.call('where');
      const tb = await b.call('where');
      expect(ta).not.toBe(0);
      expect(tb).not.toBe(0);
      expect(ta).not.toBe(tb);
    } finally {
      await system.shutdown();
    }
  });
});
