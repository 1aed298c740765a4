/**
 * The timer structure of one scheduler: a binary min-heap ordered by (deadline, arming order),
 * behind a single host timer. Entries know their heap index, so cancelling is O(log n) and
 * nothing lingers: a cancelled call timeout or state timeout leaves the heap at once.
 */
export abstract class TimerEntry {
  /** Deadline in the scheduler clock's milliseconds (an integer). */
  deadline = 0;
  /** Arming order, to fire equal deadlines first-armed-first. */
  seq = 0;
  /** Position in the heap, or -1 when not armed. */
  index = -1;
  /** Called by the scheduler when the deadline has passed. */
  abstract fire(): void;
}

export class TimerHeap {
  private items: TimerEntry[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): TimerEntry | undefined {
    return this.items[0];
  }

  insert(entry: TimerEntry, deadline: number): void {
    entry.deadline = deadline;
    entry.seq = this.nextSeq++;
    entry.index = this.items.length;
    this.items.push(entry);
    this.up(entry.index);
  }

  remove(entry: TimerEntry): void {
    const i = entry.index;
    if (i < 0) return;
    entry.index = -1;
    const last = this.items.pop() as TimerEntry;
    if (i === this.items.length) return; // it was the last one
    this.items[i] = last;
    last.index = i;
    this.down(i);
    this.up(last.index);
  }

  /** Removes and returns the earliest entry. */
  pop(): TimerEntry | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  clear(): void {
    for (const e of this.items) e.index = -1;
    this.items = [];
  }

  private before(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private up(i: number): void {
    const items = this.items;
    const e = items[i] as TimerEntry;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p] as TimerEntry;
      if (!this.before(e, parent)) break;
      items[i] = parent;
      parent.index = i;
      i = p;
    }
    items[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i] as TimerEntry;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.before(items[r] as TimerEntry, items[l] as TimerEntry)) c = r;
      const child = items[c] as TimerEntry;
      if (!this.before(child, e)) break;
      items[i] = child;
      child.index = i;
      i = c;
    }
    items[i] = e;
    e.index = i;
  }
}
