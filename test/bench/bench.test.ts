import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * `npm run bench` at smoke size (BENCH_SMOKE=1: a few dozen invitations through every phase, its own stack), so the
 * bench cannot rot. A benchmark is not a test: nothing here is timed, only that it runs to its table.
 */
describe('npm run bench, smoke size', () => {
  it('runs every phase on the real stack and prints the table', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
        cwd: root,
        env: { ...process.env, BENCH_SMOKE: '1', BENCH_DEV_IDLE_SECONDS: '1', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/\| +\| figure +\| bare baseline +\| Usher +\| ratio +\| target +\| met +\|/);
    for (const id of ['R1', 'R2', 'R3', 'R4', 'R5', 'R6']) expect(stdout).toMatch(new RegExp(`^\\| ${id} `, 'm'));
    expect(stdout).toContain('`usher dev` idle RSS');
    expect(stdout).toContain('Create latency against offered load');
    // The worker's SDK metrics are read per phase: a create's second workflow task finds its workflow in the cache.
    expect(stdout).toMatch(/^R1 creates: [\s\S]*?^ {2}worker's workflow cache: .*sticky_cache_hit\w* [1-9]/m);
  }, 900_000);
});
