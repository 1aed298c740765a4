/**
 * What every scenario shares: sizes (full or BENCH_QUICK), timing, percentiles, heap measurement
 * and the result table.
 */
import { writeFileSync, renameSync } from 'node:fs';

/** BENCH_QUICK=1 runs the suite with smaller counts (the whole suite in well under a minute). */
export const QUICK = process.env.BENCH_QUICK === '1';

/** `full` normally, `quick` under BENCH_QUICK=1. */
export function size(full: number, quick: number): number {
  return QUICK ? quick : full;
}

// ---------------------------------------------------------------- results

/** One line of bench/results.json. */
export interface Result {
  scenario: string;
  metric: string;
  unit: string;
  value: number;
  baselines: Record<string, number>;
}

/** A goal a metric should meet; shown in the table, not written to results.json. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface Row extends Result {
  target?: Target;
}

export function row(scenario: string, metric: string, unit: string, value: number, baselines: Record<string, number> = {}, target?: Target): Row {
  return target === undefined ? { scenario, metric, unit, value, baselines } : { scenario, metric, unit, value, baselines, target };
}

export function met(r: Row): boolean | undefined {
  if (r.target === undefined) return undefined;
  return r.target.op === '>=' ? r.value >= r.target.value : r.value <= r.target.value;
}

// ---------------------------------------------------------------- timing

/** Monotonic nanoseconds. A double holds them exactly for ~104 days of uptime. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Timing samples (any unit) and their order statistics. */
export class Samples {
  private readonly values: number[] = [];

  add(v: number): void {
    this.values.push(v);
  }

  get count(): number {
    return this.values.length;
  }

  /** Nearest-rank percentile, p in [0, 100]. */
  percentile(p: number): number {
    if (this.values.length === 0) return NaN;
    const sorted = Float64Array.from(this.values).sort();
    const rank = Math.ceil((p / 100) * sorted.length) - 1;
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
  }
}

export function median(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Operations per second for `ops` operations in `ns` nanoseconds. */
export function perSecond(ops: number, ns: number): number {
  return (ops * 1e9) / ns;
}

// ---------------------------------------------------------------- memory

const gcFn: (() => void) | undefined = typeof globalThis.gc === 'function' ? (globalThis.gc as () => void) : undefined;

export function hasGc(): boolean {
  return gcFn !== undefined;
}

/**
 * Live heap bytes: full collections first, so the figure holds reachable objects only. It runs
 * synchronously, so work queued in microtasks (an undrained mailbox) is measured as queued.
 * NaN without --expose-gc: a heap figure taken without collecting would mostly measure garbage.
 *
 * Never call it right before timing something: a forced full GC leaves V8's young generation at
 * its smallest, and a workload timed just after it ran up to 2× slower (fan-out: 1.1 M vs
 * 2.2 M ops/s). Scenarios weigh in a pass of their own, apart from the timed rounds.
 */
export function liveHeap(): number {
  if (gcFn === undefined) return NaN;
  // Twice: the first collection can leave objects that only finalizers or weak refs released.
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed;
}

/** A packed array of `n` nulls, allocated before a heap baseline so that filling it costs nothing.
 *  (`new Array(n)` of a large n makes a slow dictionary-mode array instead.) */
export function slots<T>(n: number): (T | null)[] {
  const a: (T | null)[] = [];
  for (let i = 0; i < n; i++) a.push(null);
  return a;
}

/** Lets pending timers and I/O run (and the microtask queue empty) before the next measurement. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------- output

function si(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}

/** A number for the table: rates with SI prefixes, the rest with 3 significant digits. */
export function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'n/a' : String(v);
  if (unit.endsWith('/s')) return `${si(v)}`;
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}

/** Rounds a value for results.json: keeps 4 significant digits for small values, integers for big ones. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  return Math.abs(v) >= 1000 ? Math.round(v) : Number(v.toPrecision(4));
}

/** One block per scenario (each with its own baseline columns, so that one scenario's baselines
 *  do not widen every other's), metric and unit columns aligned across blocks. */
export function printTable(rows: readonly Row[]): void {
  const metricWidth = Math.max('metric'.length, ...rows.map((r) => r.metric.length));
  const unitWidth = Math.max('unit'.length, ...rows.map((r) => r.unit.length));
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const group = rows.filter((r) => r.scenario === scenario);
    const baselineNames = [...new Set(group.flatMap((r) => Object.keys(r.baselines)))];
    const head = ['metric', 'unit', 'threadstate', ...baselineNames, 'target', 'met'];
    const body = group.map((r) => {
      const ok = met(r);
      return [
        r.metric,
        r.unit,
        fmt(r.value, r.unit),
        ...baselineNames.map((n) => {
          const v = r.baselines[n];
          return v === undefined ? '' : fmt(v, r.unit);
        }),
        r.target === undefined ? '' : `${r.target.op} ${fmt(r.target.value, r.unit)}`,
        ok === undefined ? '' : ok ? 'yes' : 'NO',
      ];
    });
    const widths = head.map((h, i) => Math.max(i === 0 ? metricWidth : i === 1 ? unitWidth : h.length, ...body.map((cells) => (cells[i] as string).length)));
    const numeric = (i: number): boolean => i >= 2 && i < 3 + baselineNames.length;
    const line = (cells: readonly string[]): string =>
      cells.map((c, i) => (numeric(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
    console.log(`\n${scenario}`);
    console.log(line(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const cells of body) console.log(line(cells));
  }
}

/** Writes results.json via a temporary file, so a crashed run never leaves half a file. */
export function writeResults(path: URL, rows: readonly Row[]): void {
  const results: Result[] = rows.map((r) => ({
    scenario: r.scenario,
    metric: r.metric,
    unit: r.unit,
    value: round(r.value),
    baselines: Object.fromEntries(Object.entries(r.baselines).map(([k, v]) => [k, round(v)])),
  }));
  const tmp = new URL(`${path.href}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Runs `work` under the CPU profiler (see profile.ts): a workload calls it once, around the part
 *  the benchmark times, leaving set-up and tear-down out of the profile. */
export type Profiled = (work: () => Promise<void>) => Promise<void>;

/** Fails the run loudly: a benchmark of wrong behaviour is worse than none. */
export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`benchmark sanity check failed: ${what}`);
}
