import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MailCatcher, startMailCatcher } from '../../src/main/dev/mail-catcher';
import { freePort } from '../../src/main/dev/processes';
import { spawnCollecting } from '../support/child-process';
import { sentTo } from '../support/mail';
import { sample, scrape } from '../observability/stack';

/**
 * The production build as the image runs it: `npm run build` into a folder that holds nothing but the build and a
 * node_modules link (no TypeScript sources, no tsx), then `usher migrate`, `usher worker` and `usher api` from it as
 * separate processes, their /metrics listeners, and the container health check.
 */
const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
let app: string;
let mail: MailCatcher;
let databaseUrl: string;
let dropDatabase: () => Promise<void>;

function run(command: string, args: string[], env: Record<string, string>, cwd: string) {
  return spawnCollecting(command, args, {
    cwd,
    env: { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  });
}

const usher = (args: string[], env: Record<string, string>) => run(process.execPath, ['--enable-source-maps', 'dist/cli.js', ...args], env, app);

beforeAll(async () => {
  app = await mkdtemp(path.join(os.tmpdir(), 'usher-dist-'));
  await symlink(path.join(root, 'node_modules'), path.join(app, 'node_modules'));
  const adminUrl = inject('postgresAdminUrl');
  const name = `usher_dist_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  databaseUrl = adminUrl.replace(/\/postgres$/, `/${name}`);
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  };
  mail = await startMailCatcher();
});

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await mail?.stop();
  await dropDatabase?.();
  if (app) await rm(app, { recursive: true, force: true });
});

describe('the production build', () => {
  it('compiles the CLI, the health check, the email layouts and the workflow bundle into dist/', async () => {
    const build = run('npm', ['run', 'build', '--', '--outdir', path.join(app, 'dist')], {}, root);
    expect(await build.exited, build.output().stderr).toBe(0);
    const files = await readdir(path.join(app, 'dist'), { recursive: true });
    expect(files).toEqual(expect.arrayContaining(['cli.js', 'healthcheck.js', 'workflow-bundle.js', 'package.json', path.join('templates', 'invitation.mjml')]));
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    const help = usher(['help'], {});
    expect(await help.exited).toBe(0);
    expect(help.output().stderr).toMatch(/usher invitation get <id>/);
  }, 180_000);

  it('runs migrate, worker and api from dist/: an invitation is sent and accepted; /metrics and the health check answer', async () => {
    const [port, apiMetrics, workerMetrics] = [await freePort(), await freePort(), await freePort()];
    const env = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: `usher-dist-${randomBytes(4).toString('hex')}`,
      SMTP_URL: mail.url,
      TOKEN_SECRET: randomBytes(32).toString('base64url'),
      USHER_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      METRICS_PORT: String(apiMetrics),
      WORKER_METRICS_PORT: String(workerMetrics),
    };
    const migrate = usher(['migrate'], { ...env, LOG_LEVEL: 'info' });
    expect(await migrate.exited, migrate.output().stderr).toBe(0);
    expect(migrate.output().stdout).toContain('migrations applied');

    const worker = usher(['worker'], env);
    const api = usher(['api'], env);
    children.push(worker.child, api.child);
    const base = env.PUBLIC_BASE_URL;
    await expect.poll(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status, { timeout: 90_000, interval: 250 }).toBe(200);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${workerMetrics}/healthz`).catch(() => undefined))?.status, { timeout: 60_000, interval: 250 }).toBe(200);

    const created = await fetch(`${base}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.USHER_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'dist', name: 'Dist Co', owner: { email: 'boss@dist.example' } }),
    });
    expect(created.status).toBe(201);
    const { apiKey } = (await created.json()) as { apiKey: { secret: string } };
    const invited = await fetch(`${base}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'first@dist.example', role: 'member' }),
    });
    expect(invited.status).toBe(201);
    const email = await mail.waitFor(sentTo('first@dist.example'), 60_000);
    const accepted = await fetch(email.acceptLink!, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect([200, 303]).toContain(accepted.status);

    // The API's /metrics: requests by route pattern, invitations by origin, the backlog.
    const fromApi = await scrape(`http://127.0.0.1:${apiMetrics}/metrics`);
    expect(sample(fromApi, 'usher_http_request_duration_seconds_count', { method: 'POST', route: '/v1/invitations', status: '201' })).toBe(1);
    expect(sample(fromApi, 'usher_http_request_duration_seconds_count', { route: '/invite/:token' })).toBe(1);
    expect(sample(fromApi, 'usher_invitations_created_total', { origin: 'api' })).toBe(1);
    expect([...fromApi.keys()].some((k) => k.startsWith('usher_invitations_pending{'))).toBe(true);
    expect([...fromApi.keys()].join('\n')).not.toContain(email.acceptLink!.split('/').at(-1)!);
    // The worker's: what activities did, and the Temporal SDK's own worker metrics.
    await expect
      .poll(async () => sample(await scrape(`http://127.0.0.1:${workerMetrics}/metrics`), 'usher_invitations_finished_total', { status: 'accepted' }), { timeout: 30_000 })
      .toBe(1);
    // Counted when the opening activity returns, which the accept can overtake.
    await expect
      .poll(async () => sample(await scrape(`http://127.0.0.1:${workerMetrics}/metrics`), 'usher_emails_sent_total', { kind: 'invitation' }), { timeout: 30_000 })
      .toBe(1);
    const fromWorker = await scrape(`http://127.0.0.1:${workerMetrics}/metrics`);
    expect([...fromWorker.keys()].some((k) => k.startsWith('temporal_worker_task_slots_available{'))).toBe(true);
    // Idle, every workflow task slot is free: 10 by default, not the SDK's 40 (WORKER_MAX_WORKFLOW_TASKS). The worker
    // reports them itself: the SDK reports none for its own slot supplier.
    await expect
      .poll(async () => sample(await scrape(`http://127.0.0.1:${workerMetrics}/metrics`), 'usher_workflow_task_slots_available'), { timeout: 30_000 })
      .toBe(10);
    expect(sample(await scrape(`http://127.0.0.1:${workerMetrics}/metrics`), 'usher_bulk_chunks_running')).toBe(0);
    expect([...fromWorker.keys()].some((k) => k.startsWith('temporal_activity_execution_latency_seconds_bucket{'))).toBe(true);

    // The image's HEALTHCHECK: healthy when this container's API or worker answers, not otherwise.
    const check = (extra: Record<string, string>) => run(process.execPath, ['dist/healthcheck.js'], { PATH: '', ...extra }, app).exited;
    expect(await check({ PORT: String(port) })).toBe(0);
    expect(await check({ PORT: String(await freePort()), WORKER_METRICS_PORT: String(workerMetrics) })).toBe(0);
    expect(await check({ PORT: String(await freePort()) })).toBe(1);

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    expect(`${api.output().stderr}${worker.output().stderr}`).not.toMatch(/error/i);
  }, 240_000);
});
