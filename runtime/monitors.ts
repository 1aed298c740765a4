/**
 * Monitors, as Erlang's: `ctx.monitor(ref)` and, when that actor stops (or is already gone), the
 * watcher gets an `info` message `{ type: 'DOWN', monitor, id, reason }`. `ctx.demonitor(tag)`
 * cancels it — a DOWN already on its way is dropped, because every DOWN is delivered through the
 * watcher's own table of what it watches.
 *
 * Two tables per thread: the targets that live here and who watches them, and the monitors that
 * actors here have placed (possibly on other threads). A shard that dies takes its targets with
 * it: every thread turns its monitors on that shard into DOWN with reason 'shard_down'.
 */
import { INFO } from '../actors/event-kinds.js';
import type { Actor } from '../actors/actor.js';
import { reasonToWire } from './wire.js';

export interface DownMessage {
  type: 'DOWN';
  /** The tag `monitor` returned. */
  monitor: string;
  /** The id of the actor that stopped. */
  id: string;
  reason: unknown;
}

interface Placed {
  watcher: string;
  target: string;
  /** Thread the target lives on (this thread's index when local). */
  thread: number;
}

/** What the monitor tables need from the thread. */
export interface MonitorHost {
  readonly self: number;
  actor(id: string): Actor | undefined;
  /** Sends a note to another thread's monitor tables. */
  note(thread: number, op: 'monitor' | 'demonitor' | 'down', payload: unknown): void;
}

export class Monitors {
  /** target id → tag → watcher (thread, id). */
  private readonly watchers = new Map<string, Map<string, { thread: number; id: string }>>();
  /** tag → what a local watcher watches. */
  private readonly placed = new Map<string, Placed>();
  /** watcher id → its tags (so a stopping watcher's monitors go without a scan). */
  private readonly byWatcher = new Map<string, Set<string>>();
  private nextTag = 0;
  /** Tags name this thread's incarnation too: a replacement shard starts counting again. */
  private readonly incarnation = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  constructor(private readonly host: MonitorHost) {}

  /** A local watcher starts watching `target`, which lives on `thread`. Returns the tag. */
  monitor(watcher: Actor, target: string, thread: number): string {
    const tag = `${this.host.self}:${this.incarnation}:${++this.nextTag}`;
    this.placed.set(tag, { watcher: watcher.id, target, thread });
    let tags = this.byWatcher.get(watcher.id);
    if (tags === undefined) this.byWatcher.set(watcher.id, (tags = new Set()));
    tags.add(tag);
    if (thread === this.host.self) this.watch(target, tag, this.host.self, watcher.id);
    else this.host.note(thread, 'monitor', { target, tag, thread: this.host.self, watcher: watcher.id });
    return tag;
  }

  demonitor(tag: string): void {
    const p = this.placed.get(tag);
    if (p === undefined) return;
    this.forget(tag, p);
    if (p.thread === this.host.self) this.unwatch(p.target, tag);
    else this.host.note(p.thread, 'demonitor', { target: p.target, tag });
  }

  /** Target side: register a watcher, or answer DOWN (noproc) at once if the target is gone. */
  watch(target: string, tag: string, thread: number, watcher: string): void {
    const actor = this.host.actor(target);
    if (actor === undefined || actor.status !== 1 /* RUNNING */) {
      this.sendDown(thread, tag, target, 'noproc');
      return;
    }
    let m = this.watchers.get(target);
    if (m === undefined) this.watchers.set(target, (m = new Map()));
    m.set(tag, { thread, id: watcher });
  }

  unwatch(target: string, tag: string): void {
    const m = this.watchers.get(target);
    if (m === undefined) return;
    m.delete(tag);
    if (m.size === 0) this.watchers.delete(target);
  }

  /** Target side: an actor stopped; every watcher hears. */
  stopped(target: string, reason: unknown): void {
    const m = this.watchers.get(target);
    if (m === undefined) return;
    this.watchers.delete(target);
    for (const [tag, w] of m) this.sendDown(w.thread, tag, target, reason);
  }

  private sendDown(thread: number, tag: string, target: string, reason: unknown): void {
    if (thread === this.host.self) queueMicrotask(() => this.down(tag, target, reason));
    else this.host.note(thread, 'down', { tag, target, reason: reasonToWire(reason) });
  }

  /** Watcher side: deliver DOWN, unless the monitor was cancelled (or its watcher is gone). */
  down(tag: string, target: string, reason: unknown): void {
    const p = this.placed.get(tag);
    if (p === undefined) return;
    this.forget(tag, p);
    const watcher = this.host.actor(p.watcher);
    if (watcher === undefined || watcher.status !== 1) return;
    const msg: DownMessage = { type: 'DOWN', monitor: tag, id: target, reason };
    watcher.deliver(INFO, msg, undefined);
  }

  /** A shard died: the monitors placed on it fire with its reason. */
  threadDown(thread: number, reason: string): void {
    for (const [tag, p] of [...this.placed]) if (p.thread === thread) this.down(tag, p.target, reason);
  }

  /** A watcher stopped: its monitors are cancelled. */
  watcherStopped(watcher: string): void {
    const tags = this.byWatcher.get(watcher);
    if (tags !== undefined) for (const tag of [...tags]) this.demonitor(tag);
  }

  private forget(tag: string, p: Placed): void {
    this.placed.delete(tag);
    const tags = this.byWatcher.get(p.watcher);
    if (tags !== undefined) {
      tags.delete(tag);
      if (tags.size === 0) this.byWatcher.delete(p.watcher);
    }
  }
}
