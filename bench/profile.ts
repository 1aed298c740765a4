/**
 * CPU-profile driver: runs one scenario's threadstate side alone (no baseline, no heap
 * measurement) and profiles only the part the benchmark times, through the inspector (the same
 * sampler as `node --cpu-prof`). Writes bench/profiles/<scenario>.cpuprofile (open it in Chrome
 * DevTools, or summarise it):
 *
 *   node dist/bench/profile.js fanout
 *   node dist/bench/profile-summary.js bench/profiles/fanout.cpuprofile
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import * as call from './call.js';
import * as cast from './cast.js';
import * as fanout from './fanout.js';
import type { Profiled } from './harness.js';
import * as journal from './journal.js';
import * as spawn from './spawn.js';
import * as timeouts from './timeouts.js';

const WORKLOADS: Record<string, (profiled: Profiled) => Promise<void>> = {
  cast: cast.profileWorkload,
  call: call.profileWorkload,
  fanout: fanout.profileWorkload,
  journal: journal.profileWorkload,
  spawn: spawn.profileWorkload,
  timeouts: timeouts.profileWorkload,
};

const name = process.argv[2];
const workload = name === undefined ? undefined : WORKLOADS[name];
if (workload === undefined) throw new Error(`usage: profile.js <${Object.keys(WORKLOADS).join('|')}>`);

const dir = new URL('../../bench/profiles/', import.meta.url); // from dist/bench/
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 }); // µs
let ran = false;
await workload(async (work) => {
  if (ran) throw new Error('a workload profiles one part only');
  ran = true;
  await session.post('Profiler.start');
  const t0 = performance.now();
  try {
    await work();
  } finally {
    const ms = performance.now() - t0;
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const out = new URL(`${name}.cpuprofile`, dir);
    writeFileSync(out, JSON.stringify(profile));
    console.log(`${name}: ${ms.toFixed(0)} ms profiled → ${out.pathname}`);
  }
});
session.disconnect();
