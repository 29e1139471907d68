import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MailCatcher, startMailCatcher } from '../../src/main/dev/mail-catcher';
import { freePort } from '../../src/main/dev/processes';
import { spawnCollecting } from '../support/child-process';
import { sentTo } from '../support/mail';

/**
 * SIGTERM as an orchestrator sends it, to `usher api` and `usher worker` as separate processes: the API stops taking
 * connections, finishes the requests in flight and exits 0; the worker stops polling, lets the activities in flight
 * finish (an SMTP send included) within SHUTDOWN_GRACE_SECONDS, and exits 0.
 */
const children: ChildProcess[] = [];
let mail: MailCatcher;
let databaseUrl: string;
let dropDatabase: () => Promise<void>;
let env: Record<string, string>;
let base: string;
let apiKey = '';

function usher(args: string[], extra: Record<string, string> = {}) {
  const run = spawnCollecting(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env, ...extra },
  });
  children.push(run.child);
  const exited = run.exited.then((code) => ({ code, at: Date.now() }));
  const output = () => {
    const { stdout, stderr } = run.output();
    return stdout + stderr;
  };
  return { child: run.child, exited, output };
}

async function untilReady(): Promise<void> {
  await expect.poll(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status, { timeout: 60_000, interval: 250 }).toBe(200);
}

beforeAll(async () => {
  const adminUrl = inject('postgresAdminUrl');
  const name = `usher_shutdown_${randomBytes(5).toString('hex')}`;
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
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TASK_QUEUE: `usher-shutdown-${randomBytes(4).toString('hex')}`,
    SMTP_URL: mail.url,
    TOKEN_SECRET: randomBytes(32).toString('base64url'),
    USHER_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
    PUBLIC_BASE_URL: base,
    PORT: String(port),
    SHUTDOWN_GRACE_SECONDS: '15',
  };
  const migrate = usher(['migrate']);
  expect((await migrate.exited).code).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await mail?.stop();
  await dropDatabase?.();
});

/** The tenant the tests invite to, made through the running API the first time. */
async function ensureTenant(): Promise<void> {
  if (apiKey) return;
  const tenant = await fetch(`${base}/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.USHER_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'shutdown', name: 'Shutdown Co', owner: { email: 'boss@shutdown.example' } }),
  });
  expect(tenant.status).toBe(201);
  apiKey = ((await tenant.json()) as { apiKey: { secret: string } }).apiKey.secret;
}

/** A POST whose body arrives in two parts, the second when the test says: a request in flight for as long as needed. */
function slowPost(path: string, json: unknown, headers: Record<string, string>) {
  const body = Buffer.from(JSON.stringify(json));
  const request = http.request(`${base}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
  });
  const response = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    request.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
    });
    request.on('error', reject);
  });
  request.write(body.subarray(0, 10));
  return {
    response,
    finish: () => request.end(body.subarray(10)),
  };
}

describe('shutdown on SIGTERM', () => {
  it('the API stops accepting, finishes the request in flight, and exits 0', async () => {
    const api = usher(['api']);
    await untilReady();
    await ensureTenant();

    const inFlight = slowPost('/v1/invitations', { email: 'in-flight@shutdown.example', role: 'member' }, { authorization: `Bearer ${apiKey}` });
    await new Promise((r) => setTimeout(r, 300));
    api.child.kill('SIGTERM');
    // New connections are refused at once…
    await expect.poll(() => fetch(`${base}/healthz`).then(() => 'accepted', (e: Error) => String((e.cause as { code?: string })?.code ?? e)), { timeout: 5_000 }).toBe('ECONNREFUSED');
    expect(api.child.exitCode).toBeNull();
    // …while the request already in flight is answered in full, and told not to reuse its connection.
    inFlight.finish();
    const answered = await inFlight.response;
    expect(answered.status).toBe(201);
    expect(answered.connection).toBe('close');
    expect(JSON.parse(answered.body)).toMatchObject({ email: 'in-flight@shutdown.example', status: 'pending' });
    const exit = await api.exited;
    expect(exit.code).toBe(0);
    expect(api.output()).toContain('api shutting down');
  }, 120_000);

  it('the worker lets the send in flight finish, then exits 0: one email, sent on the first attempt', async () => {
    mail.behave({ replyDelayMs: 4_000 });
    const worker = usher(['worker']);
    const api = usher(['api']);
    await untilReady();
    await ensureTenant();
    const created = await fetch(`${base}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'draining@shutdown.example', role: 'member' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // The message has reached the server, which takes 4 s to answer it: the send activity is in flight.
    await expect.poll(() => mail.attempts().some((a) => sentTo('draining@shutdown.example')(a.message)), { timeout: 60_000, interval: 100 }).toBe(true);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit.code).toBe(0);
    // It waited for the answer rather than abandoning the attempt.
    expect(exit.at - signalled).toBeGreaterThan(2_500);
    expect(mail.messages().filter(sentTo('draining@shutdown.example'))).toHaveLength(1);

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query('select status, attempts from email_messages where invitation_id = $1', [id]);
      expect(rows).toEqual([{ status: 'sent', attempts: 1 }]);
    } finally {
      await db.end();
    }
    api.child.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    mail.behave({});
  }, 120_000);

  it('a send that outlasts the grace period is let go: the worker exits soon after it, and the retry sends the same email', async () => {
    mail.behave({ data: (m) => (sentTo('never-answered@shutdown.example')(m) ? 'stall' : undefined) });
    const worker = usher(['worker'], { SHUTDOWN_GRACE_SECONDS: '2' });
    const api = usher(['api']);
    await untilReady();
    await ensureTenant();
    const created = await fetch(`${base}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'never-answered@shutdown.example', role: 'member' }),
    });
    expect(created.status).toBe(201);
    await expect.poll(() => mail.attempts().some((a) => sentTo('never-answered@shutdown.example')(a.message)), { timeout: 60_000, interval: 100 }).toBe(true);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    // The grace (2 s) and the cancellation margin (5 s), not the SMTP timeout or forever.
    expect(exit.at - signalled).toBeLessThan(12_000);
    expect(exit.code).toBe(0);
    expect(worker.output()).toContain('grace period expired');

    // The abandoned attempt times out on the server (heartbeat) and a new worker sends the identical message.
    mail.behave({});
    const next = usher(['worker']);
    const delivered = await mail.waitFor(sentTo('never-answered@shutdown.example'), 90_000);
    const stalled = mail.attempts().find((a) => a.reply === 'stall' && sentTo('never-answered@shutdown.example')(a.message));
    expect(delivered.messageId).toBe(stalled?.message.messageId);
    for (const child of [next, api]) {
      child.child.kill('SIGTERM');
      expect((await child.exited).code).toBe(0);
    }
  }, 180_000);
});
