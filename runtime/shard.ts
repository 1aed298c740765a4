/**
 * A shard: the long-lived task one worker thread runs. It hosts many actors on its own
 * scheduler and timer heap, talks to the other threads over links, beats a heartbeat the main
 * thread's watchdog reads, and answers the main thread's control requests (spawn, clock,
 * inspection, shutdown). The task settles only when the shard is shut down.
 */
import type { MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { lookupMachine } from '../actors/machine.js';
import { RealClock, VirtualClock } from './clock.js';
import type { EventSink } from './host.js';
import { ActorHost } from './host.js';
import type { Machine } from '../actors/machine.js';
import { loadModule } from './module-loader.js';
import { PendingCall } from './pending-call.js';
import { Remote } from './remote.js';
import type { ActorRef } from './ref.js';
import { Scheduler } from './scheduler.js';
import { SLOT } from './ref.js';
import { WaitGraph, type WaitGraphLayout } from './wait-graph.js';
import type { Durability, SpawnOptions } from './spawn-options.js';
import { JournalClient } from './journal-client.js';
import { type JournalFailure, SnapshotReader } from './journal.js';
import { reasonFromWire, reasonToWire } from './wire.js';

export interface ShardTask {
  runtime: string;
  index: number;
  shards: number;
  mainPort: MessagePort;
  peers: [number, MessagePort][];
  heartbeat: SharedArrayBuffer;
  heartbeatMs: number;
  clock: 'real' | 'virtual';
  epoch: number;
  callTimeout: number;
  terminateTimeout: number;
  shutdownTimeout: number;
  logLevel: string;
  /** Event names the main thread has listeners for (beyond the ones always sent). */
  wanted: string[];
  /** Placement overrides in force when this shard starts. */
  overrides: [string, number][];
  waitGraph: WaitGraphLayout | null;
  /** The journal's settings (null: the system keeps no journal). */
  journal: { durability: Durability | undefined; maxUnacked: number; /** null: ':memory:' */ path: string | null } | null;
}

/** What a spawn request carries: the machine by module and name, and the spawn options. */
export interface SpawnRequest {
  module: string;
  name: string;
  key: string;
  opts: SpawnOptions;
}

/** Events a shard always forwards (the main thread keeps its directory with them). */
const ALWAYS = new Set(['crash', 'stop', 'deadLetter']);

export async function runShard(task: ShardTask): Promise<string> {
  const clock = task.clock === 'virtual' ? new VirtualClock(task.epoch) : new RealClock();
  let remote: Remote | null = null;
  // Log lines go to the main thread, which writes them to the stream of the logger the
  // application gave createSystem (a pino logger itself cannot cross threads).
  const toMain = { write: (line: string) => remote?.event('log', line) };
  const logger = pino({ name: 'threadstate', level: task.logLevel }, toMain).child({ shard: task.index });
  const scheduler = new Scheduler(clock, (err) => logger.error({ err }, 'internal error in the shard scheduler'));
  const wanted = new Set(task.wanted);
  const events: EventSink = {
    wants: (name) => ALWAYS.has(name) || wanted.has(name),
    emit: (name, payload) => remote?.event(name, toWire(payload)),
  };
  const graph = task.waitGraph === null ? null : new WaitGraph(task.waitGraph, task.index, () => logger.warn('deadlock detection: no free slot left on this shard'));
  const host = new ActorHost({
    scheduler,
    graph,
    logger,
    events,
    callTimeout: task.callTimeout,
    terminateTimeout: task.terminateTimeout,
    shards: task.shards,
  });
  remote = new Remote(task.index, task.shards, host);
  const r = remote;
  // Journal rows go to the main thread, which commits them and answers with 'jack'.
  const journal =
    task.journal === null
      ? null
      : new JournalClient(
          (rows, upTo) => r.note(r.mainThread, 'j', rows, upTo),
          (actors, err) => {
            host.crashJournaled(actors, err);
            logger.error({ err, actors: actors.map(([id]) => id) }, 'journal: rows could not be committed; their actors crash');
          },
          task.journal.maxUnacked,
        );
  host.journal = journal;
  host.durability = task.journal?.durability;
  // Persistent actors placed here read their snapshots through a read-only handle of their own.
  const reader = task.journal?.path == null ? null : new SnapshotReader(task.journal.path);
  if (reader !== null) host.snapshots = (id) => reader.resumeOf(id);
  host.remote = r;
  for (const [id, shard] of task.overrides) r.placement.place(id, shard);

  // ctx.spawn on a shard asks the main thread, which owns ids and placement.
  host.spawner = <A, D>(machine: Machine<A, D>, opts: SpawnOptions<A>): Promise<ActorRef> => {
    const pc = new PendingCall('main thread', Infinity, scheduler, null);
    const request: SpawnRequest = { module: machine.module, name: machine.name, key: machine.key, opts: opts as SpawnOptions };
    r.control(r.mainThread, pc, 'spawn', request);
    return (pc.toPromise() as Promise<[string, number, number]>).then(([id, shard, slot]) => host.refAt(id, shard, slot));
  };

  let finished!: (value: string) => void;
  const done = new Promise<string>((resolve) => (finished = resolve));

  r.onControl = (op, payload) => {
    switch (op) {
      case 'spawn':
        return spawnHere(host, payload as SpawnRequest);
      case 'clock.next': {
        const top = scheduler.timers.peek();
        return top === undefined ? -1 : top.deadline;
      }
      case 'clock.to':
        (clock as VirtualClock).setNow(payload as number);
        scheduler.fireDue(payload as number);
        return true;
      case 'quiet':
        // Let queued work run first, then report whether anything is left moving.
        return new Promise((resolve) =>
          setImmediate(() => {
            const traffic = r.traffic();
            resolve({ idle: scheduler.idle, pending: traffic.pending, sent: traffic.sent, received: traffic.received });
          }),
        );
      case 'stopInOrder':
        return host.stopInOrder(payload as string[], task.shutdownTimeout).then(() => true);
      case 'journal.flush':
        journal?.flush();
        return true;
      case 'kill': {
        const { id, reason } = payload as { id: string; reason: string };
        host.actors.get(id)?.kill(reason);
        return true;
      }
      case 'inspect': {
        const actor = host.actors.get(payload as string);
        return actor === undefined ? null : { state: actor.state, timeouts: actor.armedTimeouts() };
      }
      case 'shutdown':
        return host.shutdown(task.shutdownTimeout).then(() => {
          reader?.close();
          setImmediate(() => finished('stopped')); // after the reply has been sent
          return true;
        });
      default:
        throw new Error(`unknown control op '${op}'`);
    }
  };
  r.onNote = (op, a, b) => {
    switch (op) {
      case 'place':
        r.placement.place(a as string, b as number);
        break;
      case 'unplace':
        r.placement.unplace(a as string);
        break;
      case 'jack':
        journal?.onAck(a as number, b as JournalFailure | null);
        break;
      case 'down':
        r.shardDown(a as number, b as string);
        host.monitors.threadDown(a as number, b as string);
        break;
      case 'mon:monitor': {
        const m = a as { target: string; tag: string; thread: number; watcher: string };
        // Not here, but placed elsewhere (the watcher's hint was stale): forwarded, as calls are.
        const elsewhere = host.actors.has(m.target) ? undefined : r.placement.override(m.target);
        if (elsewhere !== undefined && elsewhere !== r.self && !r.down.has(elsewhere)) r.note(elsewhere, 'mon:monitor', m, null);
        else host.monitors.watch(m.target, m.tag, m.thread, m.watcher);
        break;
      }
      case 'mon:demonitor': {
        const m = a as { target: string; tag: string };
        host.monitors.unwatch(m.target, m.tag);
        break;
      }
      case 'mon:down': {
        const m = a as { tag: string; target: string; reason: unknown };
        host.monitors.down(m.tag, m.target, reasonFromWire(m.reason));
        break;
      }
      case 'want':
        wanted.add(a as string);
        break;
    }
  };
  r.onPortMessage = (_link, message) => {
    const m = message as { type?: string; thread?: number; port?: MessagePort };
    if (m.type === 'peer' && typeof m.thread === 'number' && m.port !== undefined) r.attach(m.thread, m.port);
  };

  r.attach(r.mainThread, task.mainPort);
  for (const [thread, port] of task.peers) r.attach(thread, port);

  // The heartbeat the watchdog reads: it stops when this thread's event loop is stuck.
  const beats = new Int32Array(task.heartbeat);
  const heartbeat = setInterval(() => Atomics.add(beats, task.index, 1), task.heartbeatMs);
  Atomics.add(beats, task.index, 1);
  r.links[r.mainThread]?.postControl({ type: 'ready', shard: task.index });

  const result = await done;
  clearInterval(heartbeat);
  r.closeAll();
  scheduler.close();
  logger.flush?.();
  return result;
}

/** Spawns here; answers the new actor's wait-graph slot. */
async function spawnHere(host: ActorHost, req: SpawnRequest): Promise<number> {
  await loadModule(req.module);
  const machine = lookupMachine(req.key);
  if (machine instanceof Error) throw machine;
  const ref = await host.spawnLocal(machine, req.opts);
  return ref[SLOT];
}

/** Event payloads made safe to cross: errors in reasons become payloads. */
function toWire(payload: unknown): unknown {
  const p = payload as { reason?: unknown };
  if (typeof p === 'object' && p !== null && 'reason' in p) return { ...p, reason: reasonToWire(p.reason) };
  return payload;
}
