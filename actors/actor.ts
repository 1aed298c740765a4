/**
 * One actor: a gen_statem on a scheduler. The path of an event reads top to bottom here, as the
 * event loop does in OTP's gen_statem.erl:
 *
 *   run → take the next event (inserted, then zero timeouts, then incoming)
 *       → handle: drop cancelled timeouts, cancel the event timeout, call the state's handler
 *       → (an async handler parks the actor until it settles; it takes no other event meanwhile)
 *       → applyResult: stop, or the transition procedure:
 *           0. a persistent actor's new state and data must be storable, or the event is refused
 *           1. actions in list order (replies sent at once — a durable actor's once the
 *              transition is recorded, and under 'commit' once it is committed; other kinds
 *              collected, last wins)
 *           2. the new state and data take effect
 *           3. the state-enter call, on a state change or a repeat; its actions are appended
 *           4. finishTransition: postpone the event; on a state change put postponed events back
 *              (oldest first) and cancel the state timeout; insert nextEvent events ahead of
 *              everything; arm timeouts (zero ones queue after inserted and postponed events,
 *              before incoming messages; an event timeout only when nothing is queued); record
 *              the receipts, a persistent actor's snapshot, then send its replies
 *   terminate → the machine's terminate callback, then every waiting caller hears.
 */
import type { Logger } from 'pino';
import { Mailbox } from '../mailbox/mailbox.js';
import {
  ActorCrashedError,
  describeReason,
  InvalidResultError,
  InvalidTransitionError,
  NoProcError,
  UnhandledEventError,
} from '../runtime/errors.js';
import { type CallHolder, ReplyHandle } from '../runtime/reply-handle.js';
import type { ActorRef } from '../runtime/ref.js';
import type { WaitGraph } from '../runtime/wait-graph.js';
import type { Runnable, Scheduler } from '../runtime/scheduler.js';
import { TimerEntry } from '../runtime/timer-heap.js';
import { checkTransferable } from '../runtime/wire.js';
import { ActorContext, type ContextServices } from './context.js';
import {
  CALL,
  CAST,
  EVENT_TIMEOUT,
  GENERIC_TIMEOUT,
  INFO,
  INTERNAL,
  kindName,
  STATE_TIMEOUT,
  STOP_REQUEST,
} from './event-kinds.js';
import type { HandleEventSpec, Machine, MachineEvent, StateTable } from './machine.js';
import {
  A_CANCEL_TIMEOUT,
  A_EVENT_TIMEOUT,
  A_GENERIC_TIMEOUT,
  A_NEXT_EVENT,
  A_POSTPONE,
  A_RECEIPT,
  A_REPLY,
  A_STATE_TIMEOUT,
  A_UPDATE_TIMEOUT,
  type Action,
  isAction,
  isResult,
  R_KEEP_ALL,
  R_NEXT,
  R_REPEAT,
  R_REPEAT_ALL,
  R_STOP,
  R_STOP_AND_REPLY,
  type Result,
} from './results.js';

export const RUNNING = 1;
export const STOPPING = 2;
export const DEAD = 3;

/** What an actor needs from the thread that hosts it. */
export interface ActorEnv extends ContextServices {
  readonly scheduler: Scheduler;
  readonly graph: WaitGraph | null;
  readonly logger: Logger;
  /** Milliseconds `terminate` may take before the actor is killed. */
  readonly terminateTimeout: number;
  onTransition(actor: Actor, from: unknown, event: number): void;
  onReceipt(actor: Actor, reason: string, meta: unknown, event: number): void;
  /** A persistent actor's snapshot as bytes; null if it could not be encoded (the actor has then
   *  crashed). */
  encodeSnapshot(actor: Actor): Uint8Array | null;
  /** A persistent actor's state, data or timers changed: its snapshot goes with its receipts. */
  onSnapshot(actor: Actor, snapshot: Uint8Array): void;
  /** A reply of a durable actor: sent now, or held until the actor's receipts are committed. */
  durableReply(actor: Actor, handle: ReplyHandle, value: unknown): void;
  onStopped(actor: Actor, reason: unknown, abnormal: boolean): void;
  deadLetter(to: string, kind: number, msg: unknown, reason: string): void;
}

/** A timeout of one actor, armed in its scheduler's heap, or queued once it fired or was zero. */
export class ActorTimer extends TimerEntry {
  cancelled = false;
  constructor(
    readonly actor: Actor,
    readonly kind: number,
    readonly name: string | undefined,
    public msg: unknown,
  ) {
    super();
  }
  fire(): void {
    this.actor.timerFired(this);
  }
}

/** What one transition collected from its actions (allocated only when there are actions). */
class Transition {
  postpone = false;
  /** nextEvent events as kind/msg pairs, in action order. */
  inserted: unknown[] | null = null;
  /** Timeout actions (event, state, named; set, cancel, update), applied in order: the last of a
   *  kind wins, and zero timeouts queue in action order. */
  timeouts: Action[] | null = null;
  receipts: Action[] | null = null;
  /** Replies of a durable actor, as handle/value pairs: they go out once the transition is
   *  recorded (and, under 'commit', committed), not at once. */
  replies: unknown[] | null = null;
}

export class Actor implements Runnable, CallHolder {
  queued = false;
  /** A handler (or enter call, or terminate) is in flight: no other event is taken. */
  busy = false;
  status = RUNNING;
  state: unknown = undefined;
  data: unknown = undefined;
  /** Handlers of the current state (state-functions machines; null for handleEvent). */
  private table: StateTable | null = null;
  mbox: Mailbox | null = null;
  takenCalls: ReplyHandle | null = null;
  private stateTimer: ActorTimer | null = null;
  private eventTimer: ActorTimer | null = null;
  private namedTimers: Map<string, ActorTimer> | null = null;
  private ctx: ActorContext | null = null;
  /** This actor's own ref (made once, by the host). */
  selfRef: ActorRef | null = null;
  /** Its slot in the wait-for graph (-1: none). */
  slot = -1;
  /** Wait-for edges this actor's current handler has recorded (calls it made). */
  waits = 0;
  /** Whether its id is recorded in the wait graph (done before its first wait). */
  named = false;
  private stopWaiters: (() => void)[] | null = null;
  // The event being handled (kind -1: none, i.e. the initial transition).
  curKind = -1;
  curMsg: unknown = undefined;
  curAux: unknown = undefined;
  /** Durability (runtime/journal-client.ts: 0 none, 1 async, 2 commit) and, for the journal,
   *  which incarnation of the id this is and the tag of its latest row. */
  durability = 0;
  incarnation = 0;
  journalTag = 0;
  /** The head of its receipt chain: the last sequence number and hash (made on this thread). */
  chainSeq = 0;
  chainHash: Uint8Array | null = null;
  /** Persistent: every change of state, data or timers is snapshotted. */
  persistent = false;
  /** Whether this event's result set the data (even the same object: it may have been changed
   *  in place) or taking it cancelled the event timeout: a persistent actor then snapshots. */
  private dataSet = false;
  private turnCancelled = false;

  constructor(
    readonly id: string,
    readonly machine: Machine,
    readonly env: ActorEnv,
    /** Incoming-queue bound (Infinity: none). */
    readonly capacity: number,
    /** The spawn options, kept for whoever restarts the actor. */
    readonly spawnOptions: unknown,
  ) {}

  // ---------------------------------------------------------------- start

  /** Enters the first state: init's actions, then the state-enter call with oldState = state. */
  start(state: unknown, data: unknown, actions: readonly Action[] | null): void {
    this.state = state;
    this.data = data;
    this.dataSet = true; // the initial snapshot is always written
    this.table = this.tableFor(state);
    this.env.onTransition(this, undefined, -1);
    let tx: Transition | null = null;
    if (actions !== null) {
      tx = new Transition();
      if (!this.collect(actions, tx, false)) return;
    }
    if (this.machine.hasEnter) this.enterState(tx, false, state);
    else this.finishTransition(tx, false, state);
    this.wake();
  }

  /**
   * Takes up a persistent actor's last committed snapshot instead of running init: no receipt,
   * no enter call. Its timers are re-armed at their deadlines; those already due fire at once,
   * in deadline order (ties in the order they were armed).
   */
  resume(state: unknown, data: unknown, timers: readonly (readonly [number, string | null, number, unknown])[]): void {
    this.state = state;
    this.data = data;
    this.table = this.tableFor(state);
    const byDeadline = [...timers].sort((a, b) => a[2] - b[2]);
    for (const [kind, name, at, msg] of byDeadline) {
      const t = this.setTimer(null, kind, name ?? undefined, 0, msg, at);
      if (kind === STATE_TIMEOUT) this.stateTimer = t;
      else if (kind === EVENT_TIMEOUT) this.eventTimer = t;
      else if (t !== null) (this.namedTimers ??= new Map()).set(name as string, t);
    }
    this.wake();
  }

  /** Armed timers as [kind, name, wall-clock deadline, msg], for a snapshot. */
  timersForSnapshot(): [number, string | null, number, unknown][] {
    const out: [number, string | null, number, unknown][] = [];
    const clock = this.env.scheduler.clock;
    const toWall = (t: ActorTimer): number => (t.index >= 0 ? t.deadline - clock.now() + clock.wallNow() : clock.wallNow());
    if (this.stateTimer !== null) out.push([STATE_TIMEOUT, null, toWall(this.stateTimer), this.stateTimer.msg]);
    if (this.eventTimer !== null) out.push([EVENT_TIMEOUT, null, toWall(this.eventTimer), this.eventTimer.msg]);
    if (this.namedTimers !== null) for (const [name, t] of this.namedTimers) out.push([GENERIC_TIMEOUT, name, toWall(t), t.msg]);
    return out;
  }

  // ---------------------------------------------------------------- delivery

  /** A message arrives from a sender. Returns false, queueing nothing, when the mailbox is full. */
  deliver(kind: number, msg: unknown, aux: unknown): boolean {
    const mb = this.mbox ?? (this.mbox = new Mailbox());
    if (mb.incoming !== null && mb.incoming.size >= this.capacity && kind !== STOP_REQUEST) return false;
    mb.deliver(kind, msg, aux);
    if (!this.queued && !this.busy) this.env.scheduler.enqueue(this);
    return true;
  }

  /** A timer of this actor fired: its event joins the incoming queue like a message. */
  timerFired(t: ActorTimer): void {
    if (t.cancelled || this.status !== RUNNING) return;
    (this.mbox ?? (this.mbox = new Mailbox())).deliver(t.kind, undefined, t);
    this.wake();
  }

  private wake(): void {
    if (this.runnable()) this.env.scheduler.enqueue(this);
  }

  runnable(): boolean {
    return !this.busy && this.status === RUNNING && this.mbox !== null && this.mbox.hasEvents();
  }

  // ---------------------------------------------------------------- the event loop

  run(budget: number): number {
    let n = 0;
    while (n < budget && !this.busy && this.status === RUNNING) {
      const mb = this.mbox;
      if (mb === null) break;
      const q = mb.nextQueue();
      if (q === null) break;
      const kind = q.peekKind();
      const msg = q.peekMsg();
      const aux = q.peekAux();
      q.drop();
      n++;
      this.handle(kind, msg, aux);
      if (!this.busy) this.settled();
    }
    return n;
  }

  private handle(kind: number, msg: unknown, aux: unknown): void {
    if (kind === STOP_REQUEST) {
      this.terminate(msg);
      return;
    }
    if (kind === EVENT_TIMEOUT || kind === STATE_TIMEOUT || kind === GENERIC_TIMEOUT) {
      const t = aux as ActorTimer;
      if (t.cancelled) return; // cancelled after it fired or was queued as a zero timeout
      this.releaseTimer(t);
      msg = t.msg;
    }
    // Any event cancels the event timeout.
    this.turnCancelled = this.eventTimer !== null;
    if (this.eventTimer !== null) this.cancelTimer(this.eventTimer);
    if (kind === CALL) (aux as ReplyHandle).takenBy(this);
    this.dataSet = false;
    this.curKind = kind;
    this.curMsg = msg;
    this.curAux = aux;
    let result: unknown;
    try {
      result = this.invoke(kind, msg, aux);
    } catch (err) {
      this.crash(err);
      return;
    }
    if (isThenable(result)) this.awaitResult(result, (r) => this.applyResult(r));
    else this.applyResult(result);
  }

  private invoke(kind: number, msg: unknown, aux: unknown): unknown {
    const ctx = this.ctx ?? (this.ctx = new ActorContext(this, this.env));
    const t = this.table;
    if (t === null) {
      const spec = this.machine.spec;
      return (spec.handleEvent as Fn)(this.eventObject(kind, msg, aux), this.state, this.data, ctx);
    }
    let fn: Fn | undefined;
    switch (kind) {
      case CALL:
        fn = t.call as Fn | undefined;
        if (fn !== undefined) return fn(msg, this.data, aux, ctx);
        break;
      case CAST:
        fn = t.cast as Fn | undefined;
        break;
      case INFO:
        fn = t.info as Fn | undefined;
        break;
      case EVENT_TIMEOUT:
        fn = t.timeout as Fn | undefined;
        break;
      case STATE_TIMEOUT:
        fn = t.state_timeout as Fn | undefined;
        break;
      case GENERIC_TIMEOUT:
        fn = t.generic_timeout as Fn | undefined;
        break;
      case INTERNAL:
        fn = t.internal as Fn | undefined;
        break;
    }
    if (fn === undefined) throw new UnhandledEventError(this.machine.name, this.state, kindName(kind));
    return fn(msg, this.data, ctx);
  }

  /** The event as `handleEvent` and `ctx.event` see it. */
  eventObject(kind: number, msg: unknown, aux: unknown): MachineEvent {
    if (kind === CALL) return { kind: 'call', msg, from: aux as never };
    if (kind === GENERIC_TIMEOUT) return { kind: 'generic_timeout', msg, name: (aux as ActorTimer).name as string };
    if (kind < 0) return { kind: 'internal', msg: undefined };
    return { kind: kindName(kind), msg };
  }

  /** Parks the actor until an async handler settles; it takes no other event meanwhile. */
  private awaitResult(p: PromiseLike<unknown>, then: (r: unknown) => void): void {
    this.busy = true;
    p.then(
      (r) => {
        this.busy = false;
        if (this.status !== RUNNING) return; // killed meanwhile
        then(r);
        if (!this.busy) this.settled();
        this.wake();
      },
      (err: unknown) => {
        this.busy = false;
        if (this.status !== RUNNING) return;
        this.crash(err);
      },
    );
  }

  /** The handler has settled: drop the event (and its caller), and the actor waits for nobody. */
  private settled(): void {
    this.curMsg = this.curAux = undefined;
    if (this.waits > 0) {
      this.waits = 0;
      this.env.graph?.clear(this.slot);
    }
  }

  // ---------------------------------------------------------------- the transition procedure

  private applyResult(r: unknown): void {
    if (!isResult(r)) {
      this.crash(new InvalidResultError(`${this.where()} returned ${preview(r)}; expected next(), keep(), keepAll(), repeat(), stop() or stopAndReply()`));
      return;
    }
    const type = r.type;
    if (type === R_STOP || type === R_STOP_AND_REPLY) {
      this.stopWith(r);
      return;
    }
    const oldState = this.state;
    let changed = false;
    let nextTable = this.table;
    if (type === R_NEXT && !sameState(r.state, oldState)) {
      // One lookup both checks the state exists and finds its handlers.
      const tables = this.machine.tables;
      if (tables !== null) {
        nextTable = (typeof r.state === 'string' ? tables.get(r.state) : undefined) ?? null;
        if (nextTable === null) {
          this.crash(new InvalidResultError(`${this.where()} went to ${preview(r.state)}, which is not a state of machine '${this.machine.name}'`));
          return;
        }
      }
      if (this.machine.allowed !== null) {
        const problem = this.checkAllowed(oldState, r.state);
        if (problem !== null) {
          this.crash(problem);
          return;
        }
      }
      changed = true;
    }
    // A persistent actor's new state and data must fit in a snapshot, or the transition is
    // refused before anything of it takes effect.
    if (this.persistent && !this.storable(r, changed)) return;
    // 1. Actions in list order; replies go out now (a durable actor's, once recorded).
    let tx: Transition | null = null;
    if (r.actions !== null) {
      tx = new Transition();
      if (!this.collect(r.actions, tx, false)) return;
    }
    // 2. The new state and data.
    if (type !== R_KEEP_ALL && type !== R_REPEAT_ALL) {
      this.data = r.data;
      this.dataSet = true;
    }
    if (changed) {
      this.state = r.state;
      this.table = nextTable;
    }
    // 3. The state-enter call.
    if ((changed || type === R_REPEAT || type === R_REPEAT_ALL) && this.machine.hasEnter) this.enterState(tx, changed, oldState);
    else this.finishTransition(tx, changed, oldState);
  }

  private enterState(tx: Transition | null, changed: boolean, oldState: unknown): void {
    const spec = this.machine.spec;
    const fn = (this.table !== null ? this.table.enter : (spec as HandleEventSpec<unknown, unknown>).enter) as Fn | undefined;
    if (fn === undefined) {
      this.finishTransition(tx, changed, oldState);
      return;
    }
    const ctx = this.ctx ?? (this.ctx = new ActorContext(this, this.env));
    let result: unknown;
    try {
      result = this.table !== null ? fn(oldState, this.data, ctx) : fn(oldState, this.state, this.data, ctx);
    } catch (err) {
      this.crash(err);
      return;
    }
    if (isThenable(result)) this.awaitResult(result, (r) => this.afterEnter(r, tx, changed, oldState));
    else this.afterEnter(result, tx, changed, oldState);
  }

  private afterEnter(r: unknown, tx: Transition | null, changed: boolean, oldState: unknown): void {
    if (!isResult(r)) {
      this.crash(new InvalidResultError(`enter call of ${this.where(true)} returned ${preview(r)}; expected keep(), keepAll(), repeat() or stop()`));
      return;
    }
    const type = r.type;
    if (type === R_STOP || type === R_STOP_AND_REPLY) {
      this.stopWith(r);
      return;
    }
    if (type === R_NEXT && !sameState(r.state, this.state)) {
      this.crash(new InvalidResultError(`enter call of ${this.where(true)} tried to change state to ${preview(r.state)}; an enter call may not change state`));
      return;
    }
    if (r.actions !== null) {
      tx ??= new Transition();
      if (!this.collect(r.actions, tx, true)) return;
    }
    if (type !== R_KEEP_ALL && type !== R_REPEAT_ALL) {
      if (this.persistent && !this.storable(r, false, true)) return;
      this.data = r.data;
      this.dataSet = true;
    }
    if (type === R_REPEAT || type === R_REPEAT_ALL) this.enterState(tx, changed, this.state);
    else this.finishTransition(tx, changed, oldState);
  }

  /** Walks the actions in order. Returns false if the actor crashed on a bad one. */
  private collect(actions: readonly Action[], tx: Transition, inEnter: boolean): boolean {
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      if (!isAction(a)) {
        this.crash(new InvalidResultError(`${this.where(inEnter)} returned ${preview(a)} among its actions; build actions with reply(), postpone(), nextEvent(), stateTimeout()…`));
        return false;
      }
      switch (a.type) {
        case A_REPLY:
          if (!(a.a instanceof ReplyHandle)) {
            this.crash(new InvalidResultError(`${this.where(inEnter)}: reply() needs the 'from' handle of a call`));
            return false;
          }
          if (this.durability !== 0) (tx.replies ??= []).push(a.a, a.b);
          else a.a.resolve(a.b); // false: the caller gave up; the late reply is dropped
          break;
        case A_POSTPONE:
          // There is no event to postpone in an enter call or in init (OTP forbids both).
          if (inEnter || this.curKind < 0) {
            this.crash(new InvalidResultError(`${this.where(inEnter)}: postpone() is not allowed in ${inEnter ? 'an enter call' : 'init'}`));
            return false;
          }
          tx.postpone = true;
          break;
        case A_NEXT_EVENT:
          if (inEnter) {
            this.crash(new InvalidResultError(`${this.where(true)}: nextEvent() is not allowed in an enter call`));
            return false;
          }
          (tx.inserted ??= []).push(a.a, a.b);
          break;
        case A_EVENT_TIMEOUT:
        case A_CANCEL_TIMEOUT:
        case A_UPDATE_TIMEOUT:
        case A_STATE_TIMEOUT:
        case A_GENERIC_TIMEOUT:
          (tx.timeouts ??= []).push(a);
          break;
        case A_RECEIPT:
          (tx.receipts ??= []).push(a);
          break;
        default:
          this.crash(new InvalidResultError(`${this.where(inEnter)}: unknown action type ${String(a.type)}`));
          return false;
      }
    }
    return this.status === RUNNING;
  }

  private finishTransition(tx: Transition | null, changed: boolean, oldState: unknown): void {
    if (tx !== null && tx.postpone) this.mailbox().postpone(this.curKind, this.curMsg, this.curAux);
    if (changed) {
      // A state change retries postponed events, oldest first, and cancels the state timeout.
      if (this.mbox !== null) this.mbox.retryPostponed();
      if (this.stateTimer !== null) this.cancelTimer(this.stateTimer);
    }
    if (tx !== null) {
      if (tx.inserted !== null) this.mailbox().insertFront(tx.inserted);
      if (tx.timeouts !== null) for (const a of tx.timeouts) this.applyTimeout(a);
    }
    // A persistent actor's snapshot is encoded before any receipt is written: if it cannot be,
    // the actor crashes with nothing of this transition recorded.
    let snapshot: Uint8Array | null = null;
    if (this.persistent && (changed || this.dataSet || this.turnCancelled || (tx !== null && (tx.timeouts !== null || tx.receipts !== null)) || isTimeoutKind(this.curKind))) {
      snapshot = this.env.encodeSnapshot(this);
      if (snapshot === null) return; // it could not be encoded: the actor crashed
    }
    if (tx !== null && tx.receipts !== null) for (const a of tx.receipts) this.env.onReceipt(this, a.a as string, a.b, this.curKind);
    if (changed) this.env.onTransition(this, oldState, this.curKind);
    if (snapshot !== null) this.env.onSnapshot(this, snapshot);
    if (tx !== null && tx.replies !== null) {
      const replies = tx.replies;
      for (let i = 0; i < replies.length; i += 2) this.env.durableReply(this, replies[i] as ReplyHandle, replies[i + 1]);
    }
  }

  /**
   * Whether a persistent actor's next state and data can be stored. If not, the transition is
   * refused: the actor keeps its previous state and data, the caller (and any reply of this
   * transition) gets the EncodeError, and the actor goes on with its next event. In an enter
   * call the state has already changed, so there the actor crashes instead (its supervisor
   * brings it back at its last committed state).
   */
  private storable(r: Result, changed: boolean, inEnter = false): boolean {
    try {
      if (changed) checkTransferable(r.state, `the state of persistent actor '${this.id}'`);
      if (r.type !== R_KEEP_ALL && r.type !== R_REPEAT_ALL) checkTransferable(r.data, `the data of persistent actor '${this.id}'`);
      // Timeout messages are stored in the snapshot too.
      if (r.actions !== null) {
        for (const a of r.actions) {
          if (!isAction(a)) continue;
          if (a.type === A_STATE_TIMEOUT || a.type === A_EVENT_TIMEOUT || a.type === A_GENERIC_TIMEOUT) checkTransferable(a.c, `a timeout message of persistent actor '${this.id}'`);
          else if (a.type === A_UPDATE_TIMEOUT) checkTransferable(a.b, `a timeout message of persistent actor '${this.id}'`);
        }
      }
      return true;
    } catch (err) {
      if (inEnter) {
        this.crash(err);
        return false;
      }
      this.env.logger.error({ actor: this.id, err }, 'transition refused: its state or data cannot be stored in a snapshot');
      if (this.curKind === CALL) (this.curAux as ReplyHandle).reject(err);
      if (r.actions !== null) for (const a of r.actions) if (isAction(a) && a.type === A_REPLY && a.a instanceof ReplyHandle) a.a.reject(err);
      return false;
    }
  }

  /** The machine's `transitions` table, when it has one, must list the change. */
  private checkAllowed(from: unknown, to: unknown): Error | null {
    const tos = typeof from === 'string' ? this.machine.allowed?.get(from) : undefined;
    if (tos === undefined || typeof to !== 'string' || !tos.has(to)) return new InvalidTransitionError(this.machine.name, from, to);
    return null;
  }

  private tableFor(state: unknown): StateTable | null {
    const tables = this.machine.tables;
    if (tables === null) return null;
    return tables.get(state as string) ?? null;
  }

  // ---------------------------------------------------------------- timeouts

  private applyTimeout(a: Action): void {
    switch (a.type) {
      case A_EVENT_TIMEOUT:
        // Inserted or postponed events queued ahead would cancel it at once: it is not armed.
        // (Messages still in the mailbox do not stop a zero event timeout: it comes first.)
        if (this.insertedAhead()) {
          if (this.eventTimer !== null) this.cancelTimer(this.eventTimer);
        } else this.eventTimer = this.setTimer(this.eventTimer, EVENT_TIMEOUT, undefined, a.b as number, a.c, a.d as number | undefined);
        break;
      case A_STATE_TIMEOUT:
        this.stateTimer = this.setTimer(this.stateTimer, STATE_TIMEOUT, undefined, a.b as number, a.c, a.d as number | undefined);
        break;
      case A_GENERIC_TIMEOUT: {
        const name = a.a as string;
        const timers = (this.namedTimers ??= new Map());
        const t = this.setTimer(timers.get(name) ?? null, GENERIC_TIMEOUT, name, a.b as number, a.c, a.d as number | undefined);
        if (t === null) timers.delete(name);
        else timers.set(name, t);
        break;
      }
      case A_CANCEL_TIMEOUT: {
        const t = this.timerNamed(a.a as string);
        if (t !== null) this.cancelTimer(t);
        break;
      }
      case A_UPDATE_TIMEOUT: {
        const which = a.a as string;
        const t = this.timerNamed(which);
        if (t !== null) t.msg = a.b;
        else if (which === 'timeout') {
          if (!this.insertedAhead()) this.eventTimer = this.setTimer(null, EVENT_TIMEOUT, undefined, 0, a.b, undefined);
        } else if (which === 'state_timeout') this.stateTimer = this.setTimer(null, STATE_TIMEOUT, undefined, 0, a.b, undefined);
        else (this.namedTimers ??= new Map()).set(which, this.setTimer(null, GENERIC_TIMEOUT, which, 0, a.b, undefined) as ActorTimer);
        break;
      }
    }
  }

  private timerNamed(which: string): ActorTimer | null {
    if (which === 'timeout') return this.eventTimer;
    if (which === 'state_timeout') return this.stateTimer;
    return this.namedTimers?.get(which) ?? null;
  }

  /** Whether inserted (nextEvent) or re-queued postponed events wait ahead of everything. */
  private insertedAhead(): boolean {
    const inserted = this.mbox?.inserted;
    return inserted !== undefined && inserted !== null && inserted.size > 0;
  }

  /** Replaces timer `old` (re-arming restarts it). Infinity arms nothing; 0 queues a zero timeout. */
  private setTimer(old: ActorTimer | null, kind: number, name: string | undefined, ms: number, msg: unknown, at: number | undefined): ActorTimer | null {
    if (old !== null) this.cancelTimer(old);
    if (at === undefined && ms === Infinity) return null;
    const t = new ActorTimer(this, kind, name, msg);
    const scheduler = this.env.scheduler;
    if (at !== undefined) {
      const now = scheduler.clock.now();
      const deadline = now + (at - scheduler.clock.wallNow());
      if (deadline <= now) this.mailbox().deliver(kind, undefined, t); // already due: fires now
      else scheduler.arm(t, deadline);
    } else if (ms === 0) {
      this.mailbox().pushZero(kind, t);
    } else {
      scheduler.arm(t, scheduler.clock.now() + ms);
    }
    return t;
  }

  /** Cancels a timer wherever it is: in the heap, or queued (it is then skipped when taken). */
  private cancelTimer(t: ActorTimer): void {
    t.cancelled = true;
    this.env.scheduler.disarm(t);
    this.releaseTimer(t);
  }

  /** Clears the slot that points at `t` (the timer fired or was cancelled). */
  private releaseTimer(t: ActorTimer): void {
    if (t.kind === STATE_TIMEOUT) {
      if (this.stateTimer === t) this.stateTimer = null;
    } else if (t.kind === EVENT_TIMEOUT) {
      if (this.eventTimer === t) this.eventTimer = null;
    } else if (this.namedTimers !== null && this.namedTimers.get(t.name as string) === t) {
      this.namedTimers.delete(t.name as string);
    }
  }

  private cancelAllTimers(): void {
    if (this.stateTimer !== null) this.cancelTimer(this.stateTimer);
    if (this.eventTimer !== null) this.cancelTimer(this.eventTimer);
    if (this.namedTimers !== null) for (const t of [...this.namedTimers.values()]) this.cancelTimer(t);
  }

  /** Names of the armed timeouts (for inspection and tests). */
  armedTimeouts(): string[] {
    const names: string[] = [];
    if (this.eventTimer !== null) names.push('timeout');
    if (this.stateTimer !== null) names.push('state_timeout');
    if (this.namedTimers !== null) names.push(...this.namedTimers.keys());
    return names;
  }

  // ---------------------------------------------------------------- stopping

  /** Queues a stop behind the messages already queued (OTP's system message); resolves once stopped. */
  requestStop(reason: unknown): Promise<void> {
    if (this.status === DEAD) return Promise.resolve();
    const done = new Promise<void>((resolve) => (this.stopWaiters ??= []).push(resolve));
    if (this.status === RUNNING) this.deliver(STOP_REQUEST, reason, undefined);
    return done;
  }

  private stopWith(r: Result): void {
    if (r.hasData) this.data = r.data;
    if (r.type === R_STOP_AND_REPLY && r.actions !== null) {
      for (const a of r.actions) {
        if (!(a.a instanceof ReplyHandle)) continue;
        if (this.durability !== 0) this.env.durableReply(this, a.a, a.b);
        else a.a.resolve(a.b);
      }
    }
    this.terminate(r.reason);
  }

  crash(err: unknown): void {
    this.terminate(err);
  }

  /** Runs the machine's terminate callback (bounded by env.terminateTimeout), then finalizes. */
  terminate(reason: unknown): void {
    if (this.status !== RUNNING) return;
    this.status = STOPPING;
    this.cancelAllTimers();
    const fn = this.machine.spec.terminate;
    if (fn === undefined) {
      this.finalize(reason);
      return;
    }
    let result: unknown;
    try {
      result = fn(reason, this.state, this.data);
    } catch (err) {
      this.finalize(err); // a crash in terminate becomes the stop reason, as in OTP
      return;
    }
    if (!isThenable(result)) {
      this.finalize(reason);
      return;
    }
    this.busy = true;
    const guard = new TerminateGuard(this, this.env.terminateTimeout);
    result.then(
      () => {
        guard.cancel();
        this.finalize(reason);
      },
      (err: unknown) => {
        guard.cancel();
        this.finalize(err);
      },
    );
  }

  /** Stops at once, without terminate (brutal kill). */
  kill(reason: unknown = 'killed'): void {
    if (this.status === DEAD) return;
    this.cancelAllTimers();
    this.finalize(reason);
  }

  private finalize(reason: unknown): void {
    if (this.status === DEAD) return;
    this.status = DEAD;
    this.busy = false;
    const abnormal = !isNormalReason(reason);
    // Every caller still waiting hears now: calls taken but unanswered, then calls still queued.
    // The error is made only if someone is waiting (a stack trace per stop is not free).
    let err: Error | null = null;
    const why = (): Error => (err ??= abnormal ? new ActorCrashedError(this.id, reason) : new NoProcError(this.id, `stopped (${describeReason(reason)})`));
    while (this.takenCalls !== null) this.takenCalls.reject(why());
    const mb = this.mbox;
    this.mbox = null;
    if (mb !== null) {
      mb.forEach((kind, msg, aux) => {
        if (kind === CALL) (aux as ReplyHandle).reject(why());
        else if (kind === CAST || kind === INFO) this.env.deadLetter(this.id, kind, msg, 'stopped');
      });
    }
    this.env.onStopped(this, reason, abnormal);
    const waiters = this.stopWaiters;
    this.stopWaiters = null;
    if (waiters !== null) for (const w of waiters) w();
  }

  // ---------------------------------------------------------------- helpers

  private mailbox(): Mailbox {
    return this.mbox ?? (this.mbox = new Mailbox());
  }

  /** "machine 'x' (actor 'y') in state 'z' handling 'cast'" — for error messages. */
  private where(inEnter = false): string {
    const what = inEnter ? 'enter' : this.curKind < 0 ? 'init' : kindName(this.curKind);
    return `machine '${this.machine.name}' (actor '${this.id}') in state ${preview(this.state)} handling '${what}'`;
  }
}

/** Kills an actor whose async terminate outlives its time limit. */
class TerminateGuard extends TimerEntry {
  constructor(private readonly actor: Actor, ms: number) {
    super();
    if (ms !== Infinity) actor.env.scheduler.arm(this, actor.env.scheduler.clock.now() + ms);
  }
  fire(): void {
    this.actor.env.logger.error({ actor: this.actor.id }, 'terminate did not finish in time; actor killed');
    this.actor.kill('terminate_timeout');
  }
  cancel(): void {
    this.actor.env.scheduler.disarm(this);
  }
}

type Fn = (...args: unknown[]) => unknown;

function isTimeoutKind(kind: number): boolean {
  return kind === EVENT_TIMEOUT || kind === STATE_TIMEOUT || kind === GENERIC_TIMEOUT;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** 'normal', 'shutdown' and `{ shutdown: detail }` are clean stops (OTP); anything else is a crash. */
export function isNormalReason(reason: unknown): boolean {
  return reason === 'normal' || reason === 'shutdown' || (typeof reason === 'object' && reason !== null && !(reason instanceof Error) && 'shutdown' in reason);
}

/** State equality: identity for primitives, structural for arrays and plain objects (tuple-like states). */
export function sameState(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameState(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!sameState((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

function preview(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
}
