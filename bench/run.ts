/**
 * The benchmark suite: `npm run bench` (BENCH_QUICK=1 for small counts). Each scenario runs in a
 * child process of its own — threadstate, then its baseline, in that one process — so that no
 * scenario inherits another's heap or JIT feedback. Prints a table, writes bench/results.json.
 * Scenario names as arguments run only those: `node --expose-gc dist/bench/run.js cast call`.
 */
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as call from './call.js';
import * as cast from './cast.js';
import * as fanout from './fanout.js';
import { hasGc, met, printTable, QUICK, type Row, writeResults } from './harness.js';
import * as journal from './journal.js';
import * as shards from './shards.js';
import * as spawn from './spawn.js';
import * as supervision from './supervision.js';
import * as timeouts from './timeouts.js';

const SCENARIOS: Record<string, () => Promise<Row[]>> = {
  cast: cast.run,
  call: call.run,
  fanout: fanout.run,
  spawn: spawn.run,
  timeouts: timeouts.run,
  'cross-shard': shards.runCrossShard,
  'core-on-shards': shards.runCoreOnShards,
  'cpu-bound': shards.runCpuBound,
  restart: supervision.runRestart,
  deadlock: supervision.runDeadlockCost,
  journal: journal.run,
};

const RESULTS = new URL('../../bench/results.json', import.meta.url); // from dist/bench/
const CHILD_FLAG = '--scenario';
/** A scenario process should exit by itself once done: every system was shut down and every
 *  baseline actor stopped. One still running after this long holds a timer or handle. */
const EXIT_GRACE_MS = 5000;

/** Runs one scenario in a child process and returns its rows. */
function inChild(name: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, name], { execArgv: ['--expose-gc', ...(process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let rows: Row[] | null = null;
    let grace: NodeJS.Timeout | undefined;
    child.on('message', (m) => {
      rows = m as Row[];
      grace = setTimeout(() => {
        console.warn(`\nwarning: scenario ${name} did not exit ${EXIT_GRACE_MS} ms after finishing (a timer or handle outlived shutdown); killed`);
        child.kill();
      }, EXIT_GRACE_MS);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(grace);
      if (rows !== null && (code === 0 || signal === 'SIGTERM')) resolve(rows);
      else reject(new Error(`scenario ${name} failed (${signal ?? `exit code ${String(code)}`})`));
    });
  });
}

async function parent(names: readonly string[]): Promise<void> {
  console.log(`threadstate bench — node ${process.version}, ${cpus().length} cores, ${QUICK ? 'BENCH_QUICK' : 'full'} mode`);
  const rows: Row[] = [];
  const started = performance.now();
  for (const name of names) {
    const t0 = performance.now();
    process.stderr.write(`  ${name}… `);
    rows.push(...(await inChild(name)));
    process.stderr.write(`${((performance.now() - t0) / 1e3).toFixed(1)} s\n`);
  }
  console.log();
  printTable(rows);
  const targets = rows.filter((r) => r.target !== undefined);
  const missed = targets.filter((r) => met(r) === false).length;
  console.log(`\n${targets.length - missed}/${targets.length} targets met; ${((performance.now() - started) / 1e3).toFixed(1)} s in all`);
  writeResults(RESULTS, rows);
  console.log(`wrote ${fileURLToPath(RESULTS)}`);
}

async function child(name: string): Promise<void> {
  if (!hasGc()) throw new Error('the scenario process needs --expose-gc');
  const rows = await (SCENARIOS[name] as () => Promise<Row[]>)();
  await new Promise<void>((resolve, reject) => (process.send as NonNullable<typeof process.send>)(rows, (err: Error | null) => (err ? reject(err) : resolve())));
  process.disconnect();
}

const args = process.argv.slice(2);
if (args[0] === CHILD_FLAG) {
  await child(args[1] as string);
} else {
  const unknown = args.filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  await parent(args.length > 0 ? args : Object.keys(SCENARIOS));
}
