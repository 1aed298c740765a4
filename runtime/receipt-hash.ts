/**
 * The hash chain of receipts: hash = SHA-256(prev_hash ‖ JSON [actor, seq, at, from, to, kind,
 * type, reason] ‖ meta bytes), where from and to are the states as JSON text. One definition,
 * used where a receipt is made (the thread that hosts the actor) and where a chain is verified.
 */
import { sha256 } from './sha256.js';

let buf = Buffer.allocUnsafe(1024);

export function receiptHash(prev: Uint8Array | null, actor: string, seq: number, at: number, from: string | null, to: string | null, kind: string, type: string | null, reason: string | null, meta: Uint8Array | null): Buffer {
  const text = JSON.stringify([actor, seq, at, from, to, kind, type, reason]);
  const need = 32 + text.length * 3 + (meta === null ? 0 : meta.length);
  if (buf.length < need) buf = Buffer.allocUnsafe(need * 2);
  let n = 0;
  if (prev !== null) {
    buf.set(prev, 0);
    n = prev.length;
  }
  n += buf.write(text, n);
  if (meta !== null) {
    buf.set(meta, n);
    n += meta.length;
  }
  return sha256(buf, n);
}

/** A state as the receipt stores it (JSON text; undefined: none). */
export function stateText(state: unknown): string | null {
  return state === undefined ? null : JSON.stringify(state);
}
