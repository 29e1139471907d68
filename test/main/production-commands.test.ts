import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MailCatcher, startMailCatcher } from '../../src/main/dev/mail-catcher';
import { freePort } from '../../src/main/dev/processes';
import { spawnCollecting } from '../support/child-process';
import { sentTo } from '../support/mail';

/**
 * The production entry points as an operator runs them: `usher migrate`, `usher worker` and `usher api` as separate
 * processes, configured only by the environment, on an empty database.
 */
const children: ChildProcess[] = [];
let mail: MailCatcher;
let databaseUrl: string;
let dropDatabase: () => Promise<void>;

function usher(args: string[], env: Record<string, string>) {
  return spawnCollecting(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  });
}

beforeAll(async () => {
  const adminUrl = inject('postgresAdminUrl');
  const name = `usher_prod_${randomBytes(5).toString('hex')}`;
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
});

describe('the production commands', () => {
  it('refuse a bad setting with one line naming it', async () => {
    const api = usher(['api'], { PORT: 'eighty', DATABASE_URL: 'postgres://x@127.0.0.1/x', TOKEN_SECRET: randomBytes(32).toString('base64url') });
    expect(await api.exited).toBe(2);
    expect(api.output().stderr.trim().split('\n')).toEqual([expect.stringMatching(/^usher: invalid configuration: PORT: /)]);

    const worker = usher(['worker'], {});
    expect(await worker.exited).toBe(2);
    expect(worker.output().stderr.trim()).toBe('usher: invalid configuration: DATABASE_URL, SMTP_URL, TOKEN_SECRET, PUBLIC_BASE_URL must be set');
  });

  it('refuse unsafe production settings: a placeholder or short TOKEN_SECRET, no PUBLIC_BASE_URL, a weak admin token', async () => {
    const safe = { DATABASE_URL: databaseUrl, TOKEN_SECRET: randomBytes(32).toString('base64url'), PUBLIC_BASE_URL: 'https://usher.example' };
    const cases: [Record<string, string>, RegExp][] = [
      [{ ...safe, TOKEN_SECRET: 'change-me-to-a-long-random-secret-value' }, /TOKEN_SECRET is a placeholder/],
      [{ ...safe, TOKEN_SECRET: 'short' }, /TOKEN_SECRET must be at least 32 bytes/],
      [{ ...safe, TOKEN_SECRET: 'ab'.repeat(20) }, /TOKEN_SECRET is too regular/],
      [{ DATABASE_URL: databaseUrl, TOKEN_SECRET: safe.TOKEN_SECRET }, /PUBLIC_BASE_URL must be set/],
      [{ ...safe, USHER_ADMIN_TOKEN: 'admin-admin-admin-admin-admin-admin' }, /USHER_ADMIN_TOKEN is too regular/],
    ];
    const runs = cases.map(([env, message]) => ({ env, message, api: usher(['api'], env) }));
    for (const { env, message, api } of runs) {
      expect(await api.exited).toBe(2);
      const lines = api.output().stderr.trim().split('\n');
      expect(lines).toEqual([expect.stringMatching(message)]);
      expect(lines[0]).not.toContain(env.TOKEN_SECRET);
    }
  });

  it('migrate, worker and api run apart: an operator creates a tenant and its first invitation is accepted', async () => {
    const port = await freePort();
    const env = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: `usher-prod-${randomBytes(4).toString('hex')}`,
      SMTP_URL: mail.url,
      TOKEN_SECRET: randomBytes(32).toString('base64url'),
      USHER_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
    };
    const migrate = usher(['migrate'], { ...env, LOG_LEVEL: 'info' });
    expect(await migrate.exited).toBe(0);
    expect(migrate.output().stdout).toContain('migrations applied');

    const worker = usher(['worker'], env);
    const api = usher(['api'], env);
    children.push(worker.child, api.child);
    const base = env.PUBLIC_BASE_URL;
    await expect
      .poll(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status, { timeout: 60_000, interval: 250 })
      .toBe(200);

    const created = await fetch(`${base}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.USHER_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'prod', name: 'Production Co', owner: { email: 'boss@prod.example' } }),
    });
    expect(created.status).toBe(201);
    const { apiKey } = (await created.json()) as { apiKey: { secret: string } };

    const invited = await fetch(`${base}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'first@prod.example', role: 'member' }),
    });
    expect(invited.status).toBe(201);
    const invitation = (await invited.json()) as { id: string };

    const email = await mail.waitFor(sentTo('first@prod.example'), 60_000);
    expect(email.acceptLink?.startsWith(`${base}/invite/`)).toBe(true);
    const accepted = await fetch(email.acceptLink!, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect([200, 303]).toContain(accepted.status);
    const read = (await (await fetch(`${base}/v1/invitations/${invitation.id}`, { headers: { authorization: `Bearer ${apiKey.secret}` } })).json()) as { status: string };
    expect(read.status).toBe('accepted');

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(await worker.exited).toBe(0);

    // An API started with another secret under the same key id would send links the worker cannot match.
    const stray = usher(['api'], { ...env, TOKEN_SECRET: randomBytes(32).toString('base64url') });
    expect(await stray.exited).toBe(2);
    expect(stray.output().stderr.trim()).toMatch(/^usher: invalid configuration: TOKEN_SECRET key "default" differs/);
  }, 120_000);
});
