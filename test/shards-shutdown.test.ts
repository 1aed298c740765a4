/**
 * Shutdown with real shards: queued messages are handled first, every terminate runs, and the
 * process exits by itself afterwards (no port, timer or worker left behind) — checked in a
 * child process running the compiled runtime.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSystem } from 'threadstate';
import { worker } from './fixtures/drain.js';

describe('shutdown with shards', () => {
  it('drains mailboxes and runs every terminate on the shards', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ts-drain-')), 'terminated.txt');
    const system = await createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' } });
    const refs = await Promise.all(['a', 'b', 'c', 'd'].map((name, i) => system.spawn(worker, { id: name, shard: i % 2, args: { file, name } })));
    for (let i = 0; i < 1000; i++) for (const r of refs) r.cast(i);
    await system.shutdown(); // the casts are still queued: they are handled before each stop
    const lines = readFileSync(file, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(['a:1000:shutdown', 'b:1000:shutdown', 'c:1000:shutdown', 'd:1000:shutdown']);
  }, 30_000);

  const root = fileURLToPath(new URL('..', import.meta.url));
  beforeAll(() => {
    execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('the process exits by itself after shutdown, with terminates run and queued casts handled', () => {
    // A machine module the workers can import, written as compiled JavaScript.
    const entry = new URL('../dist/runtime/index.js', import.meta.url).href;
    const dir = mkdtempSync(join(tmpdir(), 'ts-exit-'));
    const out = join(dir, 'terminated.txt');
    const mod = join(dir, 'm.mjs');
    writeFileSync(
      mod,
      `import { appendFileSync } from 'node:fs';
       import { defineMachine, keep, keepAll, stateTimeout, timeout } from ${JSON.stringify(entry)};
       export const w = defineMachine({ name: 'w', init: (a) => ({ state: 's', data: { ...a, n: 0 }, actions: [stateTimeout(60000, 'x'), timeout('t', 60000, 'y')] }),
         terminate: (reason, _s, d) => appendFileSync(d.out, d.name + ':' + d.n + ':' + reason + '\\n'),
         states: { s: { cast: (_m, d) => keep({ ...d, n: d.n + 1 }), state_timeout: () => keepAll(), generic_timeout: () => keepAll() } } });`,
    );
    const script = `
      import { createSystem } from ${JSON.stringify(entry)};
      const { w } = await import(${JSON.stringify(mod)});
      const system = await createSystem({ workers: 2, db: ':memory:', logger: { level: 'silent' } });
      const refs = [];
      for (let i = 0; i < 4; i++) refs.push(await system.spawn(w, { id: 'w' + i, shard: i % 2, args: { out: ${JSON.stringify(out)}, name: 'w' + i } }));
      for (const r of refs) for (let i = 0; i < 500; i++) r.cast(i);
      const pending = refs[0].call('no call handler: crashes it', { timeout: 60000 }).catch((e) => e.code);
      await system.shutdown();
      console.log('RESULT ' + JSON.stringify({ pending: await pending }));
    `;
    const t0 = Date.now();
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 15_000, encoding: 'utf8' });
    expect(res.signal, `did not exit by itself: ${res.stderr}`).toBeNull();
    expect(res.status, res.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT ')) as string;
    expect(JSON.parse(line.slice(7))).toEqual({ pending: 'actor_crashed' });
    // w0 crashed on the call it had no handler for (after its 500 casts); the others were shut down.
    const lines = readFileSync(out, 'utf8').trim().split('\n').sort();
    expect(lines[0]).toMatch(/^w0:500:UnhandledEventError/);
    expect(lines.slice(1)).toEqual(['w1:500:shutdown', 'w2:500:shutdown', 'w3:500:shutdown']);
  }, 30_000);
});
