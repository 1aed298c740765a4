/**
 * A link to one other thread over a MessagePort. Records are appended to a flat batch and sent
 * once per turn (a microtask after the first record), msgpackr-encoded into a fresh buffer that
 * is transferred, not copied. Records to one thread keep their order: one port, one batch.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import type { ActorRef } from './ref.js';
import { decodeBatch, encodeBatch, RECORD_SIZE } from './wire.js';

/** A batch this large is sent at once instead of waiting for the end of the turn. */
const MAX_BATCH_RECORDS = 4096;

export class Link {
  private batch: unknown[] = [];
  private flushQueued = false;
  private closed = false;
  /** Records sent and received, for quiescence checks. */
  sent = 0;
  received = 0;

  constructor(
    /** The thread at the other end. */
    readonly peer: number,
    private readonly port: MessagePort,
    onRecords: (link: Link, records: unknown[]) => void,
    onControl: (link: Link, message: unknown) => void,
    /** Makes the refs that arrive in messages, bound to this thread's router. */
    refs: (id: string, shard: number, slot: number) => ActorRef,
  ) {
    port.on('message', (data: unknown) => {
      if (data instanceof ArrayBuffer) {
        const records = decodeBatch(new Uint8Array(data), refs);
        this.received += records.length / RECORD_SIZE;
        onRecords(this, records);
      } else {
        onControl(this, data);
      }
    });
  }

  push(type: number, a: unknown, b: unknown, c: unknown, d: unknown): void {
    if (this.closed) return;
    this.batch.push(type, a, b, c, d);
    this.sent++;
    if (this.batch.length >= MAX_BATCH_RECORDS * RECORD_SIZE) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  readonly flush = (): void => {
    this.flushQueued = false;
    if (this.batch.length === 0 || this.closed) return;
    const records = this.batch;
    this.batch = [];
    const buffer = encodeBatch(records).buffer as ArrayBuffer;
    this.port.postMessage(buffer, [buffer]);
  };

  /** Sends a structured-clone message (used for control messages carrying ports). */
  postControl(message: unknown, transfer: readonly TransferListItem[] = []): void {
    if (this.closed) return;
    this.flush(); // keep order with records already queued
    this.port.postMessage(message, transfer as TransferListItem[]);
  }

  get pending(): number {
    return this.batch.length / RECORD_SIZE;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.port.close();
  }
}
