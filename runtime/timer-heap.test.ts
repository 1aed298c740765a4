import { describe, expect, it } from 'vitest';
import { TimerEntry, TimerHeap } from './timer-heap.js';

class T extends TimerEntry {
  constructor(readonly label: string) {
    super();
  }
  fire(): void {}
}

describe('TimerHeap', () => {
  it('pops by deadline, ties in arming order', () => {
    const h = new TimerHeap();
    const deadlines = [50, 10, 30, 10, 70, 30, 0];
    deadlines.forEach((d, i) => h.insert(new T(`${d}#${i}`), d));
    const out: string[] = [];
    for (let e = h.pop(); e !== undefined; e = h.pop()) out.push((e as T).label);
    expect(out).toEqual(['0#6', '10#1', '10#3', '30#2', '30#5', '50#0', '70#4']);
  });

  it('removes arbitrary entries and keeps heap order (randomised against a sorted model)', () => {
    const h = new TimerHeap();
    const live = new Set<T>();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) {
      if (live.size > 0 && rand() < 0.4) {
        const victim = [...live][Math.floor(rand() * live.size)] as T;
        h.remove(victim);
        expect(victim.index).toBe(-1);
        live.delete(victim);
      } else {
        const t = new T(String(i));
        h.insert(t, Math.floor(rand() * 1000));
        live.add(t);
      }
    }
    const model = [...live].sort((a, b) => a.deadline - b.deadline || a.seq - b.seq);
    const out: TimerEntry[] = [];
    for (let e = h.pop(); e !== undefined; e = h.pop()) out.push(e);
    expect(out).toEqual(model);
    h.remove(model[0] as T); // removing something no longer armed is a no-op
    expect(h.size).toBe(0);
  });
});
