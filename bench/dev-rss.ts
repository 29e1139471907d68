/**
 * `usher dev` as a newcomer runs it (a fresh data folder: its own Temporal dev server with UI, embedded PostgreSQL,
 * outbox, worker and API in one Node process): that process's RSS once it has sat idle.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, stopChild } from '../src/main/dev/processes';
import { sleep } from './load';
import { readRssMiB, root, until } from './stack';

export interface DevRss {
  readyMs: number;
  idleMiB: number;
  peakMiB: number;
  idleSeconds: number;
}

/** `entry`: how to run the CLI; from source by default, or e.g. ['dist/cli.js'] for the production build. */
export async function measureDevIdleRss(idleSeconds: number, entry: string[] = ['--import', 'tsx', 'src/main/cli.ts']): Promise<DevRss> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'usher-bench-dev-'));
  // As root, the embedded PostgreSQL runs as the postgres user, who must reach its data folder.
  await chmod(dir, 0o755);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    USHER_DATA_DIR: dir,
    PORT: String(port),
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    TEMPORAL_UI_PORT: String(await freePort()),
    USHER_DEV_POSTGRES_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  for (const key of ['DATABASE_URL', 'SMTP_URL', 'TOKEN_SECRET', 'PUBLIC_BASE_URL', 'TASK_QUEUE']) delete env[key];
  const t0 = Date.now();
  const child = spawn(process.execPath, [...entry, 'dev'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (c: Buffer) => (errors = (errors + c.toString()).slice(-4000)));
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`usher dev exited (${child.exitCode}): ${errors}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200;
      },
      240_000,
      'usher dev ready',
      250,
    );
    const readyMs = Date.now() - t0;
    await sleep(idleSeconds * 1000);
    return { readyMs, idleMiB: readRssMiB(child.pid!), peakMiB: readRssMiB(child.pid!, 'VmHWM'), idleSeconds };
  } finally {
    await stopChild(child, 60_000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `npm run build` into a scratch folder (the compiled CLI and the prebuilt workflow bundle) for `use`. */
export async function withBuild<T>(use: (dir: string) => Promise<T>): Promise<T> {
  // Inside the checkout: the compiled code finds its packages in node_modules by walking up from where it is.
  const dir = await mkdtemp(path.join(root, '.bench-build-'));
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main/build.ts', '--outdir', dir], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`npm run build failed: ${result.stderr}`);
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
