/**
 * The wait-for graph, shared by every thread: a SharedArrayBuffer with a few edge cells per
 * actor ("this actor waits for a reply from that one") and a short name record per actor.
 *
 * A caller stores its edge before its call is sent, then walks the graph from the callee; if
 * the walk comes back to the caller, the call would close a cycle and fails at once. Stores and
 * loads are sequentially consistent Atomics, so of two calls that close a cycle at the same time
 * on different threads at least one sees the other's edge: a cycle cannot form unseen. Only the
 * thread an actor lives on writes that actor's cells; any thread reads them.
 *
 * Each thread allocates slots from its own range. An actor without a slot (the range is full)
 * still runs; its calls are simply not checked.
 */
export const EDGES_PER_ACTOR = 4;
const NAME_BYTES = 48; // 2 bytes of length + up to 46 bytes of UTF-8
const MAX_WALK = 4096;
/** Slots are 24-bit; an edge cell holds (callee slot + 1) plus a 7-bit tag of the call that set it,
 *  so a late `leave` clears only its own edge. */
export const MAX_SLOTS = 1 << 24;
const SLOT_MASK = 0xffffff;
/** A ref's slot key: generation × 2^32 + slot. A slot reused by another actor has a new generation,
 *  so a stale ref's key no longer matches and its calls go unchecked (never misattributed). */
const GEN = 2 ** 32;

export interface WaitGraphLayout {
  buffer: SharedArrayBuffer;
  /** Slots per thread. */
  perThread: number;
  threads: number;
}

export function createWaitGraph(threads: number, perThread: number): WaitGraphLayout {
  const bytes = threads * perThread * (EDGES_PER_ACTOR * 4 + 4 + NAME_BYTES);
  return { buffer: new SharedArrayBuffer(bytes), perThread, threads };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class WaitGraph {
  private readonly edges: Int32Array;
  private readonly gens: Int32Array;
  private readonly names: Uint8Array;
  private tag = 0;
  private readonly first: number;
  private readonly end: number;
  private next: number;
  /** Freed slots, reused oldest first so a stale ref is unlikely to meet a new owner. */
  private readonly free: number[] = [];
  private freeHead = 0;
  private warned = false;

  constructor(
    layout: WaitGraphLayout,
    /** This thread's index: its slots are [thread × perThread, (thread + 1) × perThread). */
    thread: number,
    private readonly onFull: () => void,
  ) {
    const total = layout.threads * layout.perThread;
    this.edges = new Int32Array(layout.buffer, 0, total * EDGES_PER_ACTOR);
    this.gens = new Int32Array(layout.buffer, total * EDGES_PER_ACTOR * 4, total);
    this.names = new Uint8Array(layout.buffer, total * (EDGES_PER_ACTOR * 4 + 4), total * NAME_BYTES);
    this.first = thread * layout.perThread;
    this.end = this.first + layout.perThread;
    this.next = this.first;
    // A replacement shard inherits a dead one's range: its edges mean nothing now. (Generations
    // are kept, and bumped on every allocation, so the dead actors' refs stay stale.)
    this.edges.fill(0, this.first * EDGES_PER_ACTOR, this.end * EDGES_PER_ACTOR);
  }

  /** The slot a ref's key names, if that actor still holds it; -1 otherwise. */
  slotOf(key: number): number {
    if (key < 0) return -1;
    const slot = key % GEN;
    return Atomics.load(this.gens, slot) === Math.floor(key / GEN) ? slot : -1;
  }

  /** The key a ref carries for `slot` (its current generation). */
  keyOf(slot: number): number {
    return slot < 0 ? -1 : Atomics.load(this.gens, slot) * GEN + slot;
  }

  /** A slot for a new actor; -1 when this thread's range is full. */
  allocate(): number {
    let slot: number;
    if (this.freeHead < this.free.length) slot = this.free[this.freeHead++] as number;
    else if (this.next < this.end) slot = this.next++;
    else {
      if (!this.warned) {
        this.warned = true;
        this.onFull();
      }
      return -1;
    }
    if (this.freeHead > 1024 && this.freeHead * 2 > this.free.length) {
      this.free.splice(0, this.freeHead);
      this.freeHead = 0;
    }
    // Its cells are clear already (release, or a range cleared at start). Only this thread writes
    // the generation; other threads read it after message passing has published it.
    this.gens[slot] = (this.gens[slot] as number) + 1;
    // The actor's name is written when it first waits (see `name`): spawning stays cheap.
    return slot;
  }

  /** Records an actor's id for its slot (before its first wait: cycles are named from these). */
  name(slot: number, id: string): void {
    const at = slot * NAME_BYTES;
    const { written } = encoder.encodeInto(id, this.names.subarray(at + 2, at + NAME_BYTES));
    this.names[at] = written & 0xff;
    this.names[at + 1] = written >> 8;
  }

  release(slot: number): void {
    if (slot < 0) return;
    for (let j = 0; j < EDGES_PER_ACTOR; j++) Atomics.store(this.edges, slot * EDGES_PER_ACTOR + j, 0);
    Atomics.add(this.gens, slot, 1); // refs to the stopped actor are stale from now on
    this.free.push(slot);
  }

  /** The value an edge cell holds: callee slot + 1, tagged with this call. */
  private edgeValue(callee: number): number {
    this.tag = (this.tag + 1) & 0x7f;
    return this.tag * (SLOT_MASK + 1) + callee + 1;
  }

  /**
   * Records "caller waits for callee" and checks for a cycle. Returns the edge cell (to clear
   * when the call settles), -1 when the call was not recorded (no free cell), or the cycle as
   * slots in wait order, starting with the caller.
   */
  enter(caller: number, callee: number): number | number[] {
    const base = caller * EDGES_PER_ACTOR;
    let cell = -1;
    for (let j = 0; j < EDGES_PER_ACTOR; j++) {
      if (Atomics.load(this.edges, base + j) === 0) {
        cell = base + j;
        break;
      }
    }
    if (cell < 0) return -1; // more calls in flight than cells: this one goes unchecked
    const value = this.edgeValue(callee);
    Atomics.store(this.edges, cell, value);
    const cycle = this.findPath(callee, caller);
    if (cycle === null) return cell * 128 + (value >>> 24); // the cell, and the tag to clear it by
    Atomics.store(this.edges, cell, 0);
    return [caller, ...cycle];
  }

  /**
   * Records "caller waits for callee" without a walk, for a callee on this thread that is not in
   * a handler (so waits for nobody). A plain write is enough: any cycle through this edge must be
   * closed by a call that reaches back to this thread, and message passing publishes it first.
   */
  enterQuiet(caller: number, callee: number): number {
    const edges = this.edges;
    const base = caller * EDGES_PER_ACTOR;
    for (let j = 0; j < EDGES_PER_ACTOR; j++) {
      if (edges[base + j] === 0) {
        const value = this.edgeValue(callee);
        edges[base + j] = value;
        return (base + j) * 128 + (value >>> 24);
      }
    }
    return -1;
  }

  /** The caller's handler has settled: it waits for nobody any more, whatever it left pending. */
  clear(caller: number): void {
    const base = caller * EDGES_PER_ACTOR;
    for (let j = 0; j < EDGES_PER_ACTOR; j++) Atomics.store(this.edges, base + j, 0);
  }

  /**
   * Clears the edge `enter` recorded (`ticket`: the cell and the call's tag), unless the cell
   * now holds another call's edge — the caller's handler settled and a later call reused it.
   */
  leave(ticket: number, callee: number): void {
    const cell = Math.floor(ticket / 128);
    Atomics.compareExchange(this.edges, cell, (ticket % 128) * (SLOT_MASK + 1) + callee + 1, 0);
  }

  /** A path of waits from `from` to `to` (excluding `to`), or null. Depth-first, bounded. */
  private findPath(from: number, to: number): number[] | null {
    const edges = this.edges;
    // Fast path: the callee waits for nobody.
    const b = from * EDGES_PER_ACTOR;
    if ((Atomics.load(edges, b) | Atomics.load(edges, b + 1) | Atomics.load(edges, b + 2) | Atomics.load(edges, b + 3)) === 0) return null;
    const parent = new Map<number, number>([[from, -1]]);
    const stack = [from];
    while (stack.length > 0 && parent.size < MAX_WALK) {
      const x = stack.pop() as number;
      for (let j = 0; j < EDGES_PER_ACTOR; j++) {
        const v = Atomics.load(edges, x * EDGES_PER_ACTOR + j);
        if (v === 0) continue;
        const y = (v & SLOT_MASK) - 1;
        if (y === to) {
          const path: number[] = [];
          for (let p = x; p !== -1; p = parent.get(p) as number) path.push(p);
          return path.reverse();
        }
        if (!parent.has(y)) {
          parent.set(y, x);
          stack.push(y);
        }
      }
    }
    return null;
  }

  /** The actor id recorded for a slot (ids longer than 46 bytes are cut short). */
  nameOf(slot: number): string {
    const at = slot * NAME_BYTES;
    const n = (this.names[at] as number) | ((this.names[at + 1] as number) << 8);
    return decoder.decode(this.names.slice(at + 2, at + 2 + n));
  }
}
