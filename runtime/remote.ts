/**
 * Remote: one thread's view of the others. It owns the links to every other thread, the calls
 * this thread has in flight to them (so a dead shard's callers fail at once), the placement
 * table, and the dispatch of incoming record batches to the local ActorHost.
 *
 * Threads are numbered 0..shards-1 for the shards and `shards` for the main thread.
 */
import type { MessagePort } from 'node:worker_threads';
import { ActorCrashedError, describeReason, NoProcError, SystemShutdownError } from './errors.js';
import { Link } from './link.js';
import type { PendingCall } from './pending-call.js';
import { Placement } from './placement.js';
import { type ActorRef, SHARD_HINT } from './ref.js';
import { ReplyHandle } from './reply-handle.js';
import {
  checkTransferable,
  errorToPayload,
  payloadToError,
  REC_CALL,
  REC_CAST,
  REC_CONTROL,
  REC_EVENT,
  REC_NOTE,
  REC_REPLY,
  REC_REPLY_ERR,
  REC_STOP,
  type ErrorPayload,
} from './wire.js';

/** What the local host does with records addressed to its actors. */
export interface LocalDelivery {
  /** A ref, bound to this thread, for an actor on `shard` (refs that arrive inside messages). */
  refAt(id: string, shard: number, slot?: number): ActorRef;
  /** Delivers a cast, call or stop to a local actor; false when no such actor lives here. */
  deliverRemote(kind: number, id: string, msg: unknown, handle: RemoteFrom | undefined, stop: boolean): boolean;
  deadLetter(to: string, kind: number, msg: unknown, reason: string): void;
}

export type ControlHandler = (op: string, payload: unknown, from: number) => unknown;

export class Remote {
  readonly links: (Link | null)[];
  readonly placement: Placement;
  readonly down = new Set<number>();
  private readonly calls = new Map<number, PendingCall>();
  private nextWireId = 1;
  onControl: ControlHandler | null = null;
  onEvent: ((name: string, payload: unknown) => void) | null = null;
  onNote: ((op: string, a: unknown, b: unknown, from: number) => void) | null = null;
  /** Called for records to an id not here: returns the thread to forward to, or -1. */
  locate: ((id: string) => number) | null = null;
  /** On the main thread, which keeps the directory: whether an actor with this id exists (or is
   *  being spawned). Elsewhere null: existence is only known where the actor lives. */
  exists: ((id: string) => boolean) | null = null;

  constructor(
    readonly self: number,
    readonly shards: number,
    private readonly local: LocalDelivery,
  ) {
    this.links = new Array<Link | null>(shards + 1).fill(null);
    this.placement = new Placement(shards);
  }

  get mainThread(): number {
    return this.shards;
  }

  attach(thread: number, port: MessagePort): Link {
    this.links[thread]?.close();
    const link = new Link(thread, port, this.onRecords, (l, m) => this.onPortMessage?.(l, m), (id, shard, slot) => this.local.refAt(id, shard, slot));
    this.links[thread] = link;
    this.down.delete(thread);
    return link;
  }

  /** Structured-clone messages on a link (ports for new peers). */
  onPortMessage: ((link: Link, message: unknown) => void) | null = null;

  detach(thread: number): void {
    this.links[thread]?.close();
    this.links[thread] = null;
  }

  /** The thread a ref's actor lives on: a known override, else the ref's hint, else the hash. */
  threadOf(ref: ActorRef): number {
    const override = this.placement.override(ref.id);
    if (override !== undefined) return override;
    const hint = ref[SHARD_HINT];
    if (hint >= 0) return hint;
    return (ref[SHARD_HINT] = this.placement.shardOf(ref.id)); // remember: hashing is not free
  }

  // ---------------------------------------------------------------- sending

  call(thread: number, pc: PendingCall, id: string, msg: unknown): void {
    const link = this.links[thread];
    if (link === null || this.down.has(thread)) {
      pc.reject(new ActorCrashedError(id, 'shard_down'));
      return;
    }
    try {
      checkTransferable(msg, `the message of a call to '${id}'`);
    } catch (err) {
      pc.reject(err);
      return;
    }
    this.track(pc, thread);
    link.push(REC_CALL, id, msg, pc.wireId, this.self);
  }

  /** Sends a cast; throws EncodeError at once if the message cannot cross. */
  cast(thread: number, id: string, kind: number, msg: unknown): void {
    checkTransferable(msg, `the message cast to '${id}'`);
    const link = this.links[thread];
    if (link === null || this.down.has(thread)) this.local.deadLetter(id, kind, msg, 'shard_down');
    else link.push(REC_CAST, id, kind, msg, 0);
  }

  stop(thread: number, pc: PendingCall, id: string, reason: unknown): void {
    const link = this.links[thread];
    if (link === null || this.down.has(thread)) {
      pc.reject(new NoProcError(id, 'its shard is down')); // the actor went with it
      return;
    }
    this.track(pc, thread);
    link.push(REC_STOP, id, safeReason(reason), pc.wireId, this.self);
  }

  /** A request to another thread's runtime itself (spawn, shutdown, clock…), answered like a call. */
  control(thread: number, pc: PendingCall, op: string, payload: unknown): void {
    const link = this.links[thread];
    if (link === null || this.down.has(thread)) {
      pc.reject(new ActorCrashedError(`thread ${thread}`, 'shard_down'));
      return;
    }
    this.track(pc, thread);
    link.push(REC_CONTROL, op, payload, pc.wireId, this.self);
  }

  note(thread: number, op: string, a: unknown, b: unknown): void {
    this.links[thread]?.push(REC_NOTE, op, a, b, 0);
  }

  broadcastNote(op: string, a: unknown, b: unknown): void {
    for (const link of this.links) if (link !== null) link.push(REC_NOTE, op, a, b, 0);
  }

  event(name: string, payload: unknown): void {
    this.links[this.mainThread]?.push(REC_EVENT, name, payload, 0, 0);
  }

  /** The link to `thread` as it is now (a call's reply must go to the incarnation that asked). */
  linkTo(thread: number): Link | null {
    return this.links[thread] ?? null;
  }

  sendReply(origin: number, callId: number, value: unknown, via: Link | null = this.links[origin] ?? null): void {
    const link = this.links[origin];
    // The caller's thread is gone, or was replaced since the call came: call ids restart with a
    // new incarnation, so a reply sent now would answer an unrelated call.
    if (link === null || link !== via) return;
    try {
      checkTransferable(value, 'the reply');
    } catch (err) {
      link.push(REC_REPLY_ERR, callId, errorToPayload(err), 0, 0);
      return;
    }
    link.push(REC_REPLY, callId, value, 0, 0);
  }

  sendError(origin: number, callId: number, error: unknown, via: Link | null = this.links[origin] ?? null): void {
    const link = this.links[origin];
    if (link === null || link !== via) return;
    link.push(REC_REPLY_ERR, callId, errorToPayload(error), 0, 0);
  }

  private track(pc: PendingCall, thread: number): void {
    pc.wireId = this.nextWireId++;
    pc.targetThread = thread;
    pc.onFinish = this.forget;
    this.calls.set(pc.wireId, pc);
  }

  private readonly forget = (pc: PendingCall): void => {
    this.calls.delete(pc.wireId);
  };

  // ---------------------------------------------------------------- receiving

  private readonly onRecords = (link: Link, r: unknown[]): void => {
    for (let i = 0; i < r.length; i += 5) {
      switch (r[i]) {
        case REC_CAST:
          this.incoming(r[i + 2] as number, r[i + 1] as string, r[i + 3], undefined, false);
          break;
        case REC_CALL:
          this.incoming(0, r[i + 1] as string, r[i + 2], new RemoteFrom(this, r[i + 4] as number, r[i + 3] as number, this.linkTo(r[i + 4] as number)), false);
          break;
        case REC_REPLY:
          this.calls.get(r[i + 1] as number)?.resolve(r[i + 2]);
          break;
        case REC_REPLY_ERR:
          this.calls.get(r[i + 1] as number)?.reject(payloadToError(r[i + 2] as ErrorPayload));
          break;
        case REC_STOP:
          this.incoming(0, r[i + 1] as string, r[i + 2], new RemoteFrom(this, r[i + 4] as number, r[i + 3] as number, this.linkTo(r[i + 4] as number)), true);
          break;
        case REC_CONTROL:
          this.runControl(r[i + 1] as string, r[i + 2], new RemoteFrom(this, r[i + 4] as number, r[i + 3] as number, link));
          break;
        case REC_EVENT:
          this.onEvent?.(r[i + 1] as string, r[i + 2]);
          break;
        case REC_NOTE:
          this.onNote?.(r[i + 1] as string, r[i + 2], r[i + 3], link.peer);
          break;
      }
    }
  };

  /** A cast, call or stop for an actor: delivered here, forwarded to where it lives, or refused. */
  private incoming(kind: number, id: string, msg: unknown, handle: RemoteFrom | undefined, stop: boolean): void {
    if (this.local.deliverRemote(kind, id, msg, handle, stop)) return;
    const elsewhere = this.locate !== null ? this.locate(id) : this.placement.shardOf(id);
    const link = elsewhere >= 0 && elsewhere !== this.self ? this.links[elsewhere] : null;
    if (link !== null && !this.down.has(elsewhere)) {
      // Forwarded with the original caller as origin: the reply goes straight back to it.
      if (stop && handle !== undefined) link.push(REC_STOP, id, msg, handle.callId, handle.origin);
      else if (handle !== undefined) link.push(REC_CALL, id, msg, handle.callId, handle.origin);
      else link.push(REC_CAST, id, kind, msg, 0);
      return;
    }
    if (handle !== undefined) handle.reject(new NoProcError(id));
    else this.local.deadLetter(id, kind, msg, 'noproc');
  }

  private runControl(op: string, payload: unknown, handle: RemoteFrom): void {
    if (this.onControl === null) {
      handle.reject(new Error(`no control handler on thread ${this.self}`));
      return;
    }
    try {
      const result = this.onControl(op, payload, handle.origin);
      if (result instanceof Promise) result.then((v) => handle.resolve(v), (e: unknown) => handle.reject(e));
      else handle.resolve(result);
    } catch (err) {
      handle.reject(err);
    }
  }

  /** A shard died: every call in flight to it fails now, with the reason. */
  shardDown(shard: number, reason: string): void {
    this.down.add(shard);
    this.detach(shard);
    for (const pc of [...this.calls.values()]) {
      if (pc.targetThread === shard) pc.reject(new ActorCrashedError(pc.target, reason));
    }
  }

  /** Records queued on links and not yet sent, and totals sent/received (for quiescence). */
  traffic(): { pending: number; sent: number; received: number } {
    let pending = 0;
    let sent = 0;
    let received = 0;
    for (const l of this.links) {
      if (l === null) continue;
      pending += l.pending;
      sent += l.sent;
      received += l.received;
    }
    return { pending, sent, received };
  }

  /** Closes every link; calls still in flight can never be answered now, so they fail. */
  closeAll(): void {
    for (let t = 0; t < this.links.length; t++) this.detach(t);
    for (const pc of [...this.calls.values()]) pc.reject(new SystemShutdownError(`call to '${pc.target}'`));
  }
}

/** A reply owed to a caller on another thread. */
export class RemoteFrom extends ReplyHandle {
  private done = false;

  constructor(
    private readonly remote: Remote,
    readonly origin: number,
    readonly callId: number,
    /** The link to the caller's thread when the call arrived. */
    private readonly via: Link | null,
  ) {
    super();
  }

  get settled(): boolean {
    return this.done;
  }

  fire(): void {} // never armed: the caller's own thread keeps the timeout

  resolve(value: unknown): boolean {
    if (this.done) return false;
    this.done = true;
    this.untake();
    this.remote.sendReply(this.origin, this.callId, value, this.via);
    return true;
  }

  reject(error: unknown): boolean {
    if (this.done) return false;
    this.done = true;
    this.untake();
    this.remote.sendError(this.origin, this.callId, error, this.via);
    return true;
  }
}

function safeReason(reason: unknown): unknown {
  try {
    checkTransferable(reason, 'the stop reason');
    return reason;
  } catch {
    return describeReason(reason);
  }
}
