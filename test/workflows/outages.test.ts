import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Db } from '../../src/db/connect';
import { findInvitationById } from '../../src/db/invitations';
import { createInvitation } from '../../src/invitations/create-invitation';
import { settleClosedInvitations } from '../../src/invitations/reconcile';
import { UsherError } from '../../src/lib/errors';
import { createLogger } from '../../src/lib/log';
import { freePort } from '../../src/main/dev/processes';
import { apiDeps, closeServer, invitationDeps, listen } from '../../src/main/wiring';
import { connectClient } from '../../src/temporal/connect';
import { workflowIdFor } from '../../workflows/messages';
import { sentTo } from '../support/mail';
import { type Stack, startStack } from '../support/stack';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

/**
 * Temporal and PostgreSQL going away under a running API, as the API sees it: a second API on the stack's database
 * and Temporal, each reached through a proxy the test takes down and brings back. Every call that waits on them has
 * a deadline and answers 503 problem+json with Retry-After, at once once the dependency is known down, and /readyz
 * follows within seconds in both directions.
 */
let stack: Stack;
let temporalProxy: TcpProxy;
let databaseProxy: TcpProxy;
let client: Client;
let db: Db;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  const [host, port] = inject('temporalAddress').split(':');
  temporalProxy = await startTcpProxy({ host: host!, port: Number(port) });
  const url = new URL(stack.databaseUrl);
  databaseProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  url.port = String(databaseProxy.port);
  db = connectDatabase(url.toString(), { connectTimeoutMs: 2_000 });
  // The production client: its channel reconnects within 2 s of the server's return (src/temporal/connect.ts).
  client = await connectClient({ address: temporalProxy.address, namespace: 'default' });
  const settings = { tokenKeys: stack.deps.tokenKeys, publicBaseUrl: stack.deps.publicBaseUrl, taskQueue: stack.taskQueue, resendLimits: { cooldownSeconds: 0, perDay: 0, perInvitation: 1 } };
  const apiPort = await freePort();
  server = await listen(apiDeps(invitationDeps(db, client, settings, createLogger('silent')), client, { limits: { writesPerMinute: 0, loginsPerMinute: 0 } }), '127.0.0.1', apiPort);
  base = `http://127.0.0.1:${apiPort}`;
});
afterAll(async () => {
  if (server) await closeServer(server);
  await client?.connection.close();
  await db?.destroy();
  await temporalProxy?.close();
  await databaseProxy?.close();
  await stack?.stop();
});

const api = (path: string, init: { method?: string; json?: unknown } = {}) =>
  fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${stack.tenant.owner.apiKey}`, ...(init.json ? { 'content-type': 'application/json' } : {}) },
    body: init.json ? JSON.stringify(init.json) : undefined,
  });
const timed = async <T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
};
const readiness = async () => {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, string> }).checks };
};
/** How long until /readyz answers `status`, polling every 100 ms. */
async function untilReadiness(status: number, limitMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if ((await readiness()).status === status) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`/readyz did not answer ${status} within ${limitMs} ms: ${JSON.stringify(await readiness())}`);
}
async function expectUnavailable(response: Response, type: string) {
  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(((await response.json()) as { type: string }).type).toBe(`urn:usher:problem:${type}`);
}

describe('dependency outages under a running API', () => {
  it('Temporal down: the first create gives up within seconds, the rest at once, nothing is stored; back: ready within seconds', async () => {
    expect((await readiness()).status).toBe(200);
    const before = await api('/v1/invitations', { method: 'POST', json: { email: 'before-outage@example.com', role: 'member' } });
    expect(before.status).toBe(201);
    const open = (await before.json()) as { id: string };

    await temporalProxy.down();
    const first = await timed(() => api('/v1/invitations', { method: 'POST', json: { email: 'during-outage-0@example.com', role: 'member' } }));
    // Not the 10 s start deadline: the channel failing to connect for a second is enough to know.
    expect(first.ms).toBeLessThan(4_000);
    await expectUnavailable(first.value, 'temporal-unavailable');

    const rest = await Promise.all(
      Array.from({ length: 8 }, (_, i) => timed(() => api('/v1/invitations', { method: 'POST', json: { email: `during-outage-${i + 1}@example.com`, role: 'member' } }))),
    );
    for (const { value, ms } of rest) {
      expect(ms).toBeLessThan(1_000);
      await expectUnavailable(value, 'temporal-unavailable');
    }
    const revoke = await timed(() => api(`/v1/invitations/${open.id}/revoke`, { method: 'POST', json: {} }));
    expect(revoke.ms).toBeLessThan(1_000);
    await expectUnavailable(revoke.value, 'unavailable');
    // One resend is allowed per invitation here: one that certainly did not happen must not use it up.
    await expectUnavailable(await api(`/v1/invitations/${open.id}/resend`, { method: 'POST', json: {} }), 'unavailable');
    const ready = await readiness();
    expect(ready).toEqual({ status: 503, checks: { database: 'ok', temporal: 'unavailable' } });
    const stored = await stack.db.selectFrom('invitations').select('email').where('email', 'like', 'during-outage-%').execute();
    expect(stored).toEqual([]);

    await temporalProxy.up();
    expect(await untilReadiness(200, 6_000)).toBeLessThan(6_000);
    const after = await api('/v1/invitations', { method: 'POST', json: { email: 'after-outage@example.com', role: 'member' } });
    expect(after.status).toBe(201);
    expect((await api(`/v1/invitations/${open.id}/resend`, { method: 'POST', json: {} })).status).toBe(200);
    expect((await api(`/v1/invitations/${open.id}/resend`, { method: 'POST', json: {} })).status).toBe(429);
    const revoked = await api(`/v1/invitations/${open.id}/revoke`, { method: 'POST', json: {} });
    expect(revoked.status).toBeLessThan(300);
  }, 60_000);

  it('PostgreSQL down: 503 with Retry-After, not 500; back: ready within seconds', async () => {
    expect((await readiness()).status).toBe(200);
    await databaseProxy.down();
    const list = await timed(() => api('/v1/invitations'));
    expect(list.ms).toBeLessThan(3_000);
    await expectUnavailable(list.value, 'unavailable');
    const create = await timed(() => api('/v1/invitations', { method: 'POST', json: { email: 'db-outage@example.com', role: 'member' } }));
    expect(create.ms).toBeLessThan(1_000);
    await expectUnavailable(create.value, 'unavailable');
    expect(await readiness()).toEqual({ status: 503, checks: { database: 'unavailable', temporal: 'ok' } });

    await databaseProxy.up();
    expect(await untilReadiness(200, 5_000)).toBeLessThan(5_000);
    expect((await api('/v1/invitations')).status).toBe(200);
  }, 60_000);

  it('a statement past its deadline is cancelled and answers unavailable', async () => {
    const slow = connectDatabase(stack.databaseUrl, { statementTimeoutMs: 200 });
    try {
      const error = await sql`select pg_sleep(2)`.execute(slow).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsherError);
      expect(error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/did not answer in time/) });
      // A timeout is not an outage: the next statement runs.
      await sql`select 1`.execute(slow);
    } finally {
      await slow.destroy();
    }
  });

  it('a row still pending whose workflow closed gets the workflow’s outcome from the reconciler', async () => {
    const { invitation } = await createInvitation(stack.deps, {
      tenantId: stack.tenant.id,
      email: 'terminated@example.com',
      role: { slug: 'member' },
      inviterUserId: stack.tenant.owner.id,
      sendEmail: true,
      origin: 'test',
      actor: 'test',
    });
    await stack.mail.waitFor(sentTo('terminated@example.com'));
    await stack.client.workflow.getHandle(workflowIdFor(invitation.id)).terminate('an operator ended it');
    expect((await findInvitationById(stack.db, invitation.id))?.status).toBe('pending');
    // Visibility is eventually consistent: the reconciler sees the closed workflow within moments.
    await expect.poll(() => settleClosedInvitations(stack.deps), { timeout: 20_000, interval: 500 }).toBe(1);
    expect(await findInvitationById(stack.db, invitation.id)).toMatchObject({ status: 'failed', failure_reason: 'the invitation workflow ended: terminated' });
    const audit = await stack.db.selectFrom('audit_events').select(['action', 'actor']).where('invitation_id', '=', invitation.id).where('action', '=', 'invitation.failed').execute();
    expect(audit).toEqual([{ action: 'invitation.failed', actor: 'reconciler' }]);
    expect(await settleClosedInvitations(stack.deps)).toBe(0);
  }, 40_000);
});
