import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.js';

function drain(q: EventQueue): unknown[] {
  const out: unknown[] = [];
  while (q.size > 0) {
    out.push([q.peekKind(), q.peekMsg(), q.peekAux()]);
    q.drop();
  }
  return out;
}

describe('EventQueue', () => {
  it('is FIFO across growth and wrap-around', () => {
    const q = new EventQueue();
    const expected: unknown[] = [];
    let n = 0;
    // Interleave pushes and drops so head wraps around while the buffer grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) {
        q.push(1, n, `aux${n}`);
        expected.push([1, n, `aux${n}`]);
        n++;
      }
      for (let i = 0; i < 3; i++) {
        expect([q.peekKind(), q.peekMsg(), q.peekAux()]).toEqual(expected.shift());
        q.drop();
      }
    }
    expect(drain(q)).toEqual(expected);
  });

  it('unshift puts events in front; prependAll keeps the other queue’s order and empties it', () => {
    const q = new EventQueue();
    q.push(1, 'm1', undefined);
    q.push(1, 'm2', undefined);
    q.unshift(6, 'i1', undefined);
    const postponed = new EventQueue();
    for (const p of ['p1', 'p2', 'p3']) postponed.push(1, p, undefined);
    q.prependAll(postponed);
    expect(postponed.size).toBe(0);
    expect(drain(q).map((e) => (e as unknown[])[1])).toEqual(['p1', 'p2', 'p3', 'i1', 'm1', 'm2']);
  });

  it('forEach visits oldest first without removing; drop releases references', () => {
    const q = new EventQueue();
    for (let i = 0; i < 5; i++) q.push(0, i, undefined);
    const seen: unknown[] = [];
    q.forEach((_k, m) => seen.push(m));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(q.size).toBe(5);
    q.clear();
    expect(q.size).toBe(0);
  });
});
