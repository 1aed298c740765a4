/**
 * JournalClient: the journal as the actors of one thread see it. It numbers the rows they write
 * ("tags"), sends them to the journal once per turn (or at once when an actor stops, so that its
 * last rows travel ahead of its exit), and holds the replies that durability says must wait:
 *
 *   'commit' — a reply (and a spawn's answer) waits until every row its actor wrote before it is
 *              committed;
 *   'async'  — replies go at once, while fewer than `maxUnacked` rows of this thread wait for
 *              their commit; beyond that they wait like 'commit' (the bounded loss window);
 *   'none'   — the actor writes no rows at all.
 *
 * The journal acknowledges "committed up to tag N" per thread, in order, so held replies form
 * one queue released from the front. A row that could not be written makes its actor crash and
 * its held replies fail with the JournalError: nobody hears of a transition that is not durable.
 */
import type { Actor } from '../actors/actor.js';
import { Deque } from './deque.js';
import { JournalError } from './journal-error.js';
import { type JournalFailure, ROW_FIELDS, R_MACHINE, R_PARENT, R_SNAP } from './journal.js';
import { receiptHash, stateText } from './receipt-hash.js';
import type { ReplyHandle } from './reply-handle.js';
import { encodeValue } from './wire.js';

export const DURABILITY_NONE = 0;
export const DURABILITY_ASYNC = 1;
export const DURABILITY_COMMIT = 2;

/** Default bound of the 'async' loss window: rows of one thread not yet committed. */
export const DEFAULT_MAX_UNACKED = 10_000;

type Held = { tag: number; handle: ReplyHandle | null; value: unknown; done: ((err: Error | null) => void) | null };

export class JournalClient {
  private rows: unknown[] = [];
  /** The last tag given out. */
  private tag = 0;
  /** Everything up to this tag has been committed or has failed. */
  acked = 0;
  /** Tag of the last row in `rows` and its actor (a snapshot joins its transition's row). */
  private lastRowActor: Actor | null = null;
  private readonly held = new Deque<Held>();
  private failed: Map<number, JournalError> | null = null;
  private flushQueued = false;

  constructor(
    /** Sends rows (tags upTo-n+1 … upTo) to the journal. */
    private readonly send: (rows: unknown[], upTo: number) => void,
    /** Crashes the actors whose rows failed. */
    private readonly crash: (actors: [string, number][], err: JournalError) => void,
    private readonly maxUnacked = DEFAULT_MAX_UNACKED,
  ) {}

  /** Appends a receipt, the next link of the actor's chain; returns its tag (also recorded as the
   *  actor's latest). */
  append(actor: Actor, at: number, from: unknown, to: unknown, kind: string, type: string | null, reason: string | null, meta: unknown): number {
    const fromText = stateText(from);
    const toText = stateText(to);
    const metaBytes = meta === undefined ? null : encodeValue(meta);
    const seq = ++actor.chainSeq;
    const prev = actor.chainHash;
    const hash = receiptHash(prev, actor.id, seq, at, fromText, toText, kind, type, reason, metaBytes);
    actor.chainHash = hash;
    this.rows.push(actor.id, actor.incarnation, at, fromText, toText, kind, type, reason, metaBytes, undefined, undefined, undefined, seq, prev, hash);
    return this.tagged(actor);
  }

  private tagged(actor: Actor): number {
    this.lastRowActor = actor;
    actor.journalTag = ++this.tag;
    this.queueFlush();
    return this.tag;
  }

  /** Records a persistent actor's snapshot (bytes, or null: delete it) with its latest row, or
   *  in a row of its own. */
  snapshot(actor: Actor, at: number, body: Uint8Array | null, parent: string | undefined): void {
    if (this.lastRowActor !== actor || actor.journalTag !== this.tag || this.rows.length === 0) {
      // A row of its own: no receipt (kind null), only the snapshot.
      this.rows.push(actor.id, actor.incarnation, at, null, null, null, null, null, null, undefined, undefined, undefined, 0, null, null);
      this.tagged(actor);
    }
    const o = this.rows.length - ROW_FIELDS;
    this.rows[o + R_SNAP] = body;
    this.rows[o + R_MACHINE] = actor.machine.name;
    this.rows[o + R_PARENT] = parent;
  }

  /** Delivers a reply now, or once the actor's rows so far are committed. */
  reply(actor: Actor, handle: ReplyHandle, value: unknown): void {
    if (!this.mustWait(actor)) {
      handle.resolve(value);
      return;
    }
    handle.release(); // the actor no longer owes it: if it dies now, the reply still stands
    this.held.push({ tag: actor.journalTag, handle, value, done: null });
  }

  /** Calls `done` once the actor's rows so far are committed (null), or failed (the error). */
  whenDurable(actor: Actor, done: (err: Error | null) => void): boolean {
    if (!this.mustWait(actor)) return false;
    this.held.push({ tag: actor.journalTag, handle: null, value: undefined, done });
    return true;
  }

  private mustWait(actor: Actor): boolean {
    if (actor.journalTag <= this.acked) return false;
    if (actor.durability === DURABILITY_COMMIT) return true;
    return actor.durability === DURABILITY_ASYNC && this.tag - this.acked > this.maxUnacked;
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(this.flush);
  }

  /** Sends the rows written so far. */
  readonly flush = (): void => {
    this.flushQueued = false;
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.lastRowActor = null;
    this.send(rows, this.tag);
  };

  /** The journal's answer: rows up to `upTo` are committed, except those in `failure`. */
  onAck(upTo: number, failure: JournalFailure | null): void {
    if (upTo > this.acked) this.acked = upTo;
    if (failure !== null) {
      const err = new JournalError(failure.message, { sqlite: failure.sqlite, reason: failure.reason });
      const failed = (this.failed ??= new Map());
      for (const t of failure.tags) failed.set(t, err);
      this.crash(failure.actors, err);
    }
    this.release();
  }

  private release(): void {
    const held = this.held;
    for (let h = held.peek(); h !== undefined && h.tag <= this.acked; h = held.peek()) {
      held.shift();
      const err = this.failed?.get(h.tag) ?? null;
      if (h.done !== null) h.done(err);
      else if (err !== null) h.handle?.reject(err);
      else h.handle?.resolve(h.value);
    }
    if (held.size === 0) this.failed = null;
  }
}
