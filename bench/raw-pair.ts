/**
 * The baseline for cross-thread scenarios: two plain worker threads joined by a MessageChannel,
 * no runtime at all — what postMessage costs on this machine for batches (throughput) and for
 * a ping-pong (round trip). Run as a worker: `mode` picks the role.
 */
import { MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

type Role =
  | { mode: 'source'; port: MessagePort; count: number; batch: number }
  | { mode: 'sink'; port: MessagePort; count: number }
  | { mode: 'ponger'; port: MessagePort }
  | { mode: 'pinger'; port: MessagePort; count: number; window: number }
  | { mode: 'crunch'; iterations: number };

if (parentPort !== null && workerData?.raw === true) {
  const role = workerData.role as Role;
  const done = (v: unknown) => parentPort?.postMessage(v);
  if (role.mode === 'crunch') {
    done(crunch(role.iterations));
  } else if (role.mode === 'source') {
    // Wait for the sink to say it is ready, then send everything.
    role.port.once('message', () => {
      const t0 = performance.now();
      for (let sent = 0; sent < role.count; sent += role.batch) {
        const msgs = new Array<number>(role.batch);
        for (let i = 0; i < role.batch; i++) msgs[i] = sent + i;
        role.port.postMessage(msgs);
      }
      done({ sentMs: performance.now() - t0 });
    });
  } else if (role.mode === 'sink') {
    let got = 0;
    let t0 = 0;
    role.port.on('message', (msgs: number[]) => {
      if (got === 0) t0 = performance.now();
      got += msgs.length;
      if (got >= role.count) {
        done({ ms: performance.now() - t0 });
        role.port.close();
      }
    });
    role.port.postMessage('ready');
  } else if (role.mode === 'ponger') {
    role.port.on('message', (m: unknown) => {
      if (m === 'stop') role.port.close();
      else role.port.postMessage(m);
    });
  } else {
    const samples: number[] = [];
    let i = 0;
    let inFlight = 0;
    const t0 = performance.now();
    const sendAt = new Map<number, number>();
    const next = () => {
      while (inFlight < role.window && i < role.count) {
        sendAt.set(i, performance.now());
        role.port.postMessage(i++);
        inFlight++;
      }
    };
    role.port.on('message', (n: number) => {
      inFlight--;
      samples.push((performance.now() - (sendAt.get(n) as number)) * 1000);
      sendAt.delete(n);
      if (samples.length === role.count) {
        role.port.postMessage('stop');
        role.port.close();
        done({ samples: role.window === 1 ? samples : [], totalMs: performance.now() - t0 });
      } else next();
    });
    next();
  }
}

/** The same arithmetic as the bench cruncher machine. */
export function crunch(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1000003;
  return x;
}

function spawnRole(role: Role): { worker: Worker; result: Promise<unknown> } {
  const transferList = 'port' in role ? [role.port] : [];
  const worker = new Worker(new URL(import.meta.url), { workerData: { raw: true, role }, transferList });
  const result = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, result };
}

/**
 * The machine's own parallel ceiling: `total` iterations of the cruncher's arithmetic split over
 * `threads` bare worker threads (started before the clock runs). Returns wall ms.
 */
export async function rawCpu(threads: number, total: number): Promise<number> {
  const warm = await Promise.all(Array.from({ length: threads }, () => spawnRole({ mode: 'crunch', iterations: 1000 })));
  await Promise.all(warm.map((w) => w.result));
  await Promise.all(warm.map((w) => w.worker.terminate()));
  const t0 = performance.now();
  const runs = Array.from({ length: threads }, () => spawnRole({ mode: 'crunch', iterations: Math.floor(total / threads) }));
  await Promise.all(runs.map((r) => r.result));
  const ms = performance.now() - t0;
  await Promise.all(runs.map((r) => r.worker.terminate()));
  return ms;
}

/** postMessage throughput between two workers, `batch` numbers per message: messages/s. */
export async function rawThroughput(count: number, batch: number): Promise<number> {
  const ch = new MessageChannel();
  const sink = spawnRole({ mode: 'sink', port: ch.port2, count });
  const source = spawnRole({ mode: 'source', port: ch.port1, count, batch });
  const { ms } = (await sink.result) as { ms: number };
  await source.result;
  await Promise.all([sink.worker.terminate(), source.worker.terminate()]);
  return (count / ms) * 1000;
}

/** Ping-pong between two workers, `window` in flight: samples (µs, window 1) and total ms. */
export async function rawPingPong(count: number, window: number): Promise<{ samples: number[]; totalMs: number }> {
  const ch = new MessageChannel();
  const ponger = spawnRole({ mode: 'ponger', port: ch.port2 });
  const pinger = spawnRole({ mode: 'pinger', port: ch.port1, count, window });
  const out = (await pinger.result) as { samples: number[]; totalMs: number };
  await Promise.all([ponger.worker.terminate(), pinger.worker.terminate()]);
  return out;
}
