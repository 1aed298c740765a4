/**
 * The flagship example (npm start) end to end, in a child process on the compiled build: it must
 * run its load, restart the crashed governor, refuse the circular call, report, and exit by
 * itself with code 0.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('flagship example', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('runs the service bootstrap: load, a restart, a refused deadlock, a report, a clean exit', () => {
    const res = spawnSync(process.execPath, ['dist/examples/service-bootstrap/main.js'], { cwd: root, timeout: 60_000, encoding: 'utf8' });
    expect(res.signal, `did not exit by itself\n${res.stderr}`).toBeNull();
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/600 governors/);
    expect(res.stdout).toMatch(/restarted by supervisor/);
    expect(res.stdout).toMatch(/refused at once with DeadlockError/);
    expect(res.stdout).toMatch(/shut down cleanly/);
    // Persistence: the crashed governor resumed its state; a second system brought all back.
    expect(res.stdout).toMatch(/restarted by billing_sup .* from its snapshot: it answers again, in 'pending_payment'/);
    expect(res.stdout).toMatch(/600 persistent governors brought back under their supervisors/);
    expect(res.stdout).toMatch(/its receipts chain verifies/);
    expect(res.stderr).not.toMatch(/shard worker died/);
  }, 90_000);
});
