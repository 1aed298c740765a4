/**
 * A growable ring buffer of events, each stored as three slots (kind, msg, aux) so that queueing
 * an event allocates nothing. O(1) push at either end and O(1) removal from the front: the
 * mailbox never uses `Array.prototype.shift`, which is O(n) on long arrays.
 */
/** Capacity (in events) above which an emptied queue releases its buffer. */
const SHRINK_ABOVE = 1023;

export class EventQueue {
  private slots: unknown[];
  private mask: number; // capacity in events - 1 (capacity is a power of two)
  private head = 0; // index, in events, of the oldest event
  size = 0;

  constructor(initialCapacity = 2) {
    let cap = 2;
    while (cap < initialCapacity) cap <<= 1;
    this.slots = new Array(cap * 3);
    this.mask = cap - 1;
  }

  /** Appends an event at the back (the newest). */
  push(kind: number, msg: unknown, aux: unknown): void {
    if (this.size > this.mask) this.grow();
    const at = ((this.head + this.size) & this.mask) * 3;
    this.slots[at] = kind;
    this.slots[at + 1] = msg;
    this.slots[at + 2] = aux;
    this.size++;
  }

  /** Inserts an event at the front: it becomes the next one taken. */
  unshift(kind: number, msg: unknown, aux: unknown): void {
    if (this.size > this.mask) this.grow();
    this.head = (this.head - 1) & this.mask;
    const at = this.head * 3;
    this.slots[at] = kind;
    this.slots[at + 1] = msg;
    this.slots[at + 2] = aux;
    this.size++;
  }

  peekKind(): number {
    return this.slots[this.head * 3] as number;
  }
  peekMsg(): unknown {
    return this.slots[this.head * 3 + 1];
  }
  peekAux(): unknown {
    return this.slots[this.head * 3 + 2];
  }

  /** Removes the front event; call after reading it with the peek methods. */
  drop(): void {
    const at = this.head * 3;
    this.slots[at + 1] = undefined; // release references for the GC
    this.slots[at + 2] = undefined;
    this.head = (this.head + 1) & this.mask;
    // A burst grew the buffer; once it has drained, give the memory back.
    if (--this.size === 0 && this.mask >= SHRINK_ABOVE) this.reset();
  }

  private reset(): void {
    this.slots = new Array(6);
    this.mask = 1;
    this.head = 0;
  }

  /** Moves every event of `other`, in order, in front of this queue's events; `other` is left empty. */
  prependAll(other: EventQueue): void {
    for (let i = other.size - 1; i >= 0; i--) {
      const at = ((other.head + i) & other.mask) * 3;
      this.unshift(other.slots[at] as number, other.slots[at + 1], other.slots[at + 2]);
    }
    other.clear();
  }

  /** Visits every event, oldest first, without removing any. */
  forEach(visit: (kind: number, msg: unknown, aux: unknown) => void): void {
    for (let i = 0; i < this.size; i++) {
      const at = ((this.head + i) & this.mask) * 3;
      visit(this.slots[at] as number, this.slots[at + 1], this.slots[at + 2]);
    }
  }

  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.size = 0;
  }

  private grow(): void {
    const cap = this.mask + 1;
    const next = new Array(cap * 6);
    for (let i = 0; i < this.size; i++) {
      const from = ((this.head + i) & this.mask) * 3;
      next[i * 3] = this.slots[from];
      next[i * 3 + 1] = this.slots[from + 1];
      next[i * 3 + 2] = this.slots[from + 2];
    }
    this.slots = next;
    this.mask = cap * 2 - 1;
    this.head = 0;
  }
}
