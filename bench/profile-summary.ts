/**
 * Summarises a .cpuprofile (from `node --cpu-prof`): where the time went by kind of code, and the
 * functions with the most self time, mapped back to the TypeScript source through the build's
 * source maps.  Usage: node dist/bench/profile-summary.js <file.cpuprofile> [top=25]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..'); // from dist/bench/

const maps = new Map<string, SourceMap | null>();
function sourceMapFor(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    const path = `${file}.map`;
    map = existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as SourceMapPayload) : null;
    maps.set(file, map);
  }
  return map;
}

/** "actors/actor.ts:212" for built code with a source map, the url otherwise. */
function where(frame: CallFrame): string {
  if (!frame.url.startsWith('file://')) return frame.url === '' ? '' : `${frame.url}:${frame.lineNumber + 1}`;
  const file = fileURLToPath(frame.url);
  const map = sourceMapFor(file);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry !== undefined && 'originalSource' in entry) {
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
    return `${relative(ROOT, source)}:${entry.originalLine + 1}`;
  }
  return `${relative(ROOT, file)}:${frame.lineNumber + 1}`;
}

function category(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : 'V8 builtins / runtime';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/node_modules/')) return 'dependencies';
  if (url.includes('/dist/bench/')) return 'bench driver';
  if (url.includes('/dist/')) return 'threadstate';
  return 'other';
}

const [file, topArg = '25'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-summary.js <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

// Sample i lasts until sample i+1 (as DevTools counts it).
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length - 1; i++) {
  const id = profile.samples[i] as number;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] as number));
}

const byFunction = new Map<string, { name: string; where: string; category: string; us: number }>();
const byCategory = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const frame = (byId.get(id) as ProfileNode).callFrame;
  const cat = category(frame);
  total += us;
  byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
  const name = frame.functionName || '(anonymous)';
  const at = where(frame);
  const key = `${name}@${at}`;
  const entry = byFunction.get(key) ?? { name, where: at, category: cat, us: 0 };
  entry.us += us;
  byFunction.set(key, entry);
}

const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const ms = (us: number): string => `${(us / 1e3).toFixed(0).padStart(6)} ms`;
console.log(`${file}: ${(total / 1e3).toFixed(0)} ms sampled\n\nself time by kind of code:`);
for (const [cat, us] of [...byCategory].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us)} ${ms(us)}  ${cat}`);
const top = Number(topArg);
const functions = [...byFunction.values()].sort((a, b) => b.us - a.us);
const show = (title: string, list: typeof functions): void => {
  console.log(`\n${title}:`);
  for (const f of list.slice(0, top)) console.log(`  ${pct(f.us)} ${ms(f.us)}  ${f.name.padEnd(32)} ${f.where}${f.category === 'threadstate' ? '' : `  [${f.category}]`}`);
};
show('top functions by self time', functions);
show('top threadstate functions by self time', functions.filter((f) => f.category === 'threadstate'));
