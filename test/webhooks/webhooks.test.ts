import dns from 'node:dns';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/db/audit';
import { auditEventsPastCursor } from '../../src/db/webhooks';
import { apiDeps, closeServer, listen } from '../../src/main/wiring';
import { webhookTypeOf } from '../../src/webhooks/events';
import { postWebhook } from '../../src/webhooks/post';
import { webhookSettings } from '../../src/webhooks/settings';
import { guardedLookup, isSpecialPurposeAddress } from '../../src/webhooks/target';
import { sentTo } from '../support/mail';
import { expectStaysTrue, untilSendsSettled } from '../support/settled';
import { body, startStack, type Stack } from '../support/stack';
import { addMember } from '../support/tenants';
import { type Receiver, type Received, startReceiver } from './receiver';

let stack: Stack;
beforeAll(async () => {
  // Short retries and a quick poll, and an endpoint is disabled after 5 failures in a row (however recent).
  stack = await startStack({
    webhooks: {
      pollIntervalMs: 100,
      retry: { initialIntervalMs: 100, maximumIntervalMs: 400, giveUpAfterMs: 120_000 },
      disable: { afterFailures: 5, afterMs: 0 },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const receivers: Receiver[] = [];
const endpoints: string[] = [];
afterEach(async () => {
  // Every request any test's receiver got carried a valid signature for each secret it held.
  for (const r of receivers) expect(r.unverified).toEqual([]);
  for (const id of endpoints.splice(0)) await stack.api(`/v1/webhook-endpoints/${id}`, { method: 'DELETE' });
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(answer?: Receiver['answer']): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

/** An endpoint pointing at the receiver, which from then on verifies every request with its secret. */
async function endpointFor(r: Receiver, fields: Record<string, unknown> = {}) {
  const response = await stack.api('/v1/webhook-endpoints', { method: 'POST', json: { url: r.url, ...fields } });
  expect(response.status).toBe(201);
  const endpoint = await body(response);
  endpoints.push(endpoint.id);
  r.secrets = [endpoint.secret];
  return endpoint;
}

let invitee = 0;
async function invite(extra: Record<string, unknown> = {}) {
  const email = `hook-${++invitee}@webhooks.example`;
  const response = await stack.api('/v1/invitations', { method: 'POST', json: { email, role: 'member', ...extra } });
  expect(response.status).toBe(201);
  return { ...(await body(response)), email };
}

const about = (invitationId: string) => (r: Received) => r.payload?.data?.id === invitationId || r.payload?.data?.invitationId === invitationId;
const deliveries = async (endpointId: string, query = '') => body(await stack.api(`/v1/webhook-endpoints/${endpointId}/deliveries${query}`));
/** The log once its newest entry matches `newest`: an attempt is logged a moment after its receiver answered. */
async function deliveriesOnceLogged(endpointId: string, newest: Record<string, unknown>, query = '') {
  await expect.poll(async () => (await deliveries(endpointId, query)).data[0], { timeout: 10_000 }).toMatchObject(newest);
  return deliveries(endpointId, query);
}

describe('webhook endpoints over the API', () => {
  it('show the secret once, never again, and are managed by the tenant owner with the management scope only', async () => {
    const r = await receiver();
    const created = await stack.api('/v1/webhook-endpoints', { method: 'POST', json: { url: r.url, description: 'CRM sync', eventTypes: ['invitation.accepted'] } });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const endpoint = await body(created);
    endpoints.push(endpoint.id);
    expect(created.headers.get('location')).toBe(`/v1/webhook-endpoints/${endpoint.id}`);
    expect(endpoint).toMatchObject({ url: r.url, description: 'CRM sync', eventTypes: ['invitation.accepted'], enabled: true, health: { consecutiveFailures: 0 } });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const read = await stack.api(`/v1/webhook-endpoints/${endpoint.id}`);
    const listed = await stack.api('/v1/webhook-endpoints?limit=100');
    expect(read.status).toBe(200);
    expect(listed.status).toBe(200);
    for (const text of [await read.text(), await listed.text()]) {
      expect(text).toContain(endpoint.id);
      expect(text).not.toContain(endpoint.secret.slice('whsec_'.length, 30));
      expect(text).not.toContain('"secret"');
    }

    const patched = await body(await stack.api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'PATCH', json: { eventTypes: [], description: null } }));
    expect(patched).toMatchObject({ eventTypes: [], description: null });
    expect(patched.secret).toBeUndefined();

    // Not the owner's role: refused; the owner's rank without the management scope: refused; no key: 401.
    const member = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.admin, email: 'admin@webhooks.example' });
    const owner = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.owner, email: 'owner2@webhooks.example', scopes: ['invitations:read', 'invitations:write'] });
    const asAdmin = await stack.api('/v1/webhook-endpoints', { key: member.apiKey });
    expect(asAdmin.status).toBe(403);
    expect(asAdmin.headers.get('content-type')).toContain('application/problem+json');
    expect((await body(asAdmin)).type).toBe('urn:usher:problem:forbidden');
    expect((await body(await stack.api('/v1/webhook-endpoints', { key: owner.apiKey }))).type).toBe('urn:usher:problem:missing-scope');
    expect((await stack.api(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { method: 'POST', key: null })).status).toBe(401);

    const refused = await stack.api('/v1/webhook-endpoints', { method: 'POST', json: { url: r.url, eventTypes: ['invitation.teleported'] } });
    expect(refused.status).toBe(400);
    expect((await body(refused)).errors[0].path).toBe('eventTypes.0');
    const ftp = await body(await stack.api('/v1/webhook-endpoints', { method: 'POST', json: { url: 'ftp://files.example.com/' } }));
    expect(ftp).toMatchObject({ status: 400, errors: [{ path: 'url' }] });

    expect((await stack.api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await stack.api(`/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
  });

  it('are in the OpenAPI document, each route behind the API key', async () => {
    const document = await body(await stack.api('/openapi.json'));
    const paths = Object.keys(document.paths).filter((p) => p.startsWith('/v1/webhook-endpoints'));
    expect(paths.sort()).toEqual([
      '/v1/webhook-endpoints',
      '/v1/webhook-endpoints/{id}',
      '/v1/webhook-endpoints/{id}/deliveries',
      '/v1/webhook-endpoints/{id}/events/{eventId}/redeliver',
      '/v1/webhook-endpoints/{id}/rotate-secret',
    ]);
    for (const path of paths) {
      for (const method of Object.keys(document.paths[path])) {
        const url = path.replace('{id}', '0190a0b2-0000-7000-8000-000000000000').replace('{eventId}', `evt_${'0'.repeat(32)}`);
        const response = await stack.api(url, { method: method.toUpperCase(), key: null });
        expect(response.status, `${method} ${path}`).toBe(401);
      }
    }
  });
});

describe('delivery', () => {
  it('delivers one accepted invitation\'s events in order of occurrence, signed, without token, link or address', async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r);
    const invitation = await invite();
    const email = await stack.mail.waitFor(sentTo(invitation.email));
    // The send is recorded a moment after the mail server has the email; an accept faster than that comes first.
    await untilSendsSettled(stack, invitation.email);
    const accepted = await fetch(email.acceptLink!, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect(accepted.status).toBe(303);

    // The order the audit log recorded, which is the order things happened in.
    const timeline = (await body(await stack.api(`/v1/invitations/${invitation.id}`))).timeline.map((e: { action: string }) => e.action);
    const expected = timeline.map(webhookTypeOf).filter((t: string | undefined) => t !== undefined);
    expect(expected.slice(0, 2)).toEqual(['invitation.created', 'invitation.sent']);
    expect(expected).toEqual(expect.arrayContaining(['invitation.accepted', 'membership.granted']));

    const got = await r.until(about(invitation.id), expected.length);
    await expectStaysTrue(() => r.received.filter(about(invitation.id)).length === expected.length, 500);
    expect(got.map((g) => g.payload.type)).toEqual(expected);

    const token = new URL(email.acceptLink!).pathname.split('/').pop()!;
    for (const g of got) {
      expect(g.verifiedWith).toEqual([endpoint.secret]);
      expect(g.headers['webhook-id']).toBe(g.payload.id);
      expect(g.headers['webhook-id']).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(g.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.headers['user-agent']).toMatch(/^Usher-Webhooks\//);
      // Ids, statuses, role, origin, timestamps: never the link, its token or the invitee's address.
      expect(g.body).not.toContain(token);
      expect(g.body).not.toContain('/invite/');
      expect(g.body.toLowerCase()).not.toContain(invitation.email);
      expect(g.body).not.toMatch(/token|acceptUrl|acceptLink/i);
    }
    expect(new Set(got.map((g) => g.payload.id)).size).toBe(got.length);
    const byType = Object.fromEntries(got.map((g) => [g.payload.type, g.payload]));
    expect(byType['invitation.created']).toMatchObject({
      type: 'invitation.created',
      data: { object: 'invitation', id: invitation.id, tenantId: stack.tenant.id, status: 'pending', role: 'member', origin: 'api', decidedAt: null },
    });
    expect(byType['invitation.accepted'].data).toMatchObject({ status: 'accepted', role: 'member', origin: 'api' });
    expect(byType['invitation.accepted'].data.decidedAt).toEqual(expect.any(String));
    expect(byType['membership.granted'].data).toMatchObject({ object: 'membership', invitationId: invitation.id, role: 'member', userId: expect.any(String) });
    expect(Date.parse(byType['invitation.created'].timestamp)).toBeLessThanOrEqual(Date.parse(byType['invitation.accepted'].timestamp));

    // The delivery log has one successful attempt per event, each logged a moment after its receiver answered.
    const logged = async () => (await deliveries(endpoint.id, '?limit=100')).data.filter((a: { eventId: string }) => got.some((g) => g.payload.id === a.eventId));
    await expect.poll(async () => (await logged()).length, { timeout: 10_000 }).toBe(got.length);
    const mine = await logged();
    for (const attempt of mine) expect(attempt).toMatchObject({ run: 'automatic', attempt: 1, statusCode: 200, succeeded: true, error: null, url: r.url, latencyMs: expect.any(Number) });
  });

  it('retries a receiver that answers 500 three times: the event arrives once more, under the same webhook-id', async () => {
    const r = await receiver((n) => (n <= 3 ? { status: 500, body: 'x'.repeat(5000) } : 200));
    const endpoint = await endpointFor(r, { eventTypes: ['invitation.created'] });
    const invitation = await invite({ sendEmail: false });

    await r.until((g) => g.answered === 200);
    await expectStaysTrue(() => r.received.length === 4, 1000);
    expect(new Set(r.received.map((g) => g.headers['webhook-id'])).size).toBe(1);
    expect(r.received.map((g) => g.payload.data.id)).toEqual(Array(4).fill(invitation.id));
    expect(new Set(r.received.map((g) => g.body)).size).toBe(1);

    const log = await deliveriesOnceLogged(endpoint.id, { attempt: 4, statusCode: 200 });
    expect(log.data.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode])).toEqual([
      [4, 200],
      [3, 500],
      [2, 500],
      [1, 500],
    ]);
    expect(log.data[1]).toMatchObject({ succeeded: false, error: 'answered 500' });
    // Response bodies are capped at 1 KiB in the log.
    expect(log.data[1].responseBody).toHaveLength(1024);
    const health = await body(await stack.api(`/v1/webhook-endpoints/${endpoint.id}`));
    expect(health).toMatchObject({ enabled: true, health: { consecutiveFailures: 0, failingSince: null, lastSuccessAt: expect.any(String) } });

    // Paging the log.
    const first = await deliveries(endpoint.id, '?limit=3');
    expect(first.data).toHaveLength(3);
    const rest = await deliveries(endpoint.id, `?limit=3&cursor=${first.nextCursor}`);
    expect(rest).toMatchObject({ data: [{ attempt: 1 }], nextCursor: null });
    expect((await stack.api(`/v1/webhook-endpoints/${endpoint.id}/deliveries?cursor=bogus`)).status).toBe(400);
  });

  it('delivers after a worker is killed mid-delivery and another one starts', async () => {
    const r = await receiver((n) => (n === 1 ? 'hang' : 200));
    const endpoint = await endpointFor(r, { eventTypes: ['invitation.created'] });
    const invitation = await invite({ sendEmail: false });
    await r.until(about(invitation.id));

    // The receiver holds the first request; the worker goes away while it waits (its attempt is cut off).
    await stack.stopWorker();
    await stack.startWorker();

    const got = await r.until((g) => g.answered === 200);
    expect(got[0]!.headers['webhook-id']).toBe(r.received[0]!.headers['webhook-id']);
    expect(got[0]!.payload.data.id).toBe(invitation.id);
    const log = await deliveriesOnceLogged(endpoint.id, { succeeded: true, statusCode: 200 });
    expect(log.data[0].attempt).toBeGreaterThan(1);
  });

  it('signs with the old secret alongside the new one during a rotation\'s grace period', async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r, { eventTypes: ['invitation.created'] });
    const rotated = await stack.api(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const next = await body(rotated);
    expect(next.secret).toMatch(/^whsec_/);
    expect(next.secret).not.toBe(endpoint.secret);
    expect(Date.parse(next.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);

    r.secrets = [endpoint.secret, next.secret];
    const during = await invite({ sendEmail: false });
    const [signedBoth] = await r.until(about(during.id));
    expect(signedBoth!.verifiedWith).toEqual([endpoint.secret, next.secret]);
    expect(signedBoth!.headers['webhook-signature']!.split(' ')).toHaveLength(2);

    // A rotation without grace: only the newest secret signs.
    const last = await body(await stack.api(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { method: 'POST', json: { graceSeconds: 0 } }));
    expect(last.previousSecretExpiresAt).toBeNull();
    r.secrets = [last.secret];
    const after = await invite({ sendEmail: false });
    const [signedOnce] = await r.until(about(after.id));
    expect(signedOnce!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(() => new Webhook(next.secret).verify(signedOnce!.body, signedOnce!.headers)).toThrow();
  });

  it('does not follow redirects: a 3xx is a failed attempt, and the place it points to hears nothing', async () => {
    const elsewhere = await receiver();
    const r = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const endpoint = await endpointFor(r, { eventTypes: ['invitation.created'] });
    await invite({ sendEmail: false });
    await r.until(() => true, 2);
    const log = await deliveries(endpoint.id);
    expect(log.data.at(-1)).toMatchObject({ attempt: 1, statusCode: 302, succeeded: false, error: 'answered 302: redirects are not followed' });
    await expectStaysTrue(() => elsewhere.received.length === 0, 300);
  });

  it('disables an endpoint that keeps failing and tells the tenant owner; switched on again, an event is redelivered by hand', async () => {
    let down = true;
    const r = await receiver(() => (down ? 503 : 200));
    const endpoint = await endpointFor(r, { eventTypes: ['invitation.created'] });
    const invitation = await invite({ sendEmail: false });

    await expect
      .poll(async () => (await body(await stack.api(`/v1/webhook-endpoints/${endpoint.id}`))).enabled, { timeout: 30_000, interval: 100 })
      .toBe(false);
    const disabled = await body(await stack.api(`/v1/webhook-endpoints/${endpoint.id}`));
    expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('5 failed attempts in a row'), health: { consecutiveFailures: 5 } });
    await expectStaysTrue(() => r.received.length === 5, 500);

    // Another test's endpoint may have been disabled too: this notice names this receiver.
    const notice = await stack.mail.waitFor((m) => sentTo(stack.tenant.owner.email)(m) && m.subject.includes('Webhook endpoint disabled') && m.text.includes(r.url));
    expect(notice.text).toContain(`/v1/webhook-endpoints/${endpoint.id}`);
    expect(notice.text).not.toContain(endpoint.secret);

    // While disabled it gets nothing new, and cannot be redelivered to.
    const eventId = r.received[0]!.headers['webhook-id']!;
    const later = await invite({ sendEmail: false });
    await expectStaysTrue(() => r.received.filter(about(later.id)).length === 0, 500);
    const refused = await stack.api(`/v1/webhook-endpoints/${endpoint.id}/events/${eventId}/redeliver`, { method: 'POST' });
    expect(refused.status).toBe(409);

    const enabled = await body(await stack.api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'PATCH', json: { enabled: true } }));
    expect(enabled).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null, health: { consecutiveFailures: 0, failingSince: null } });
    down = false;
    const queued = await stack.api(`/v1/webhook-endpoints/${endpoint.id}/events/${eventId}/redeliver`, { method: 'POST' });
    expect(queued.status).toBe(202);
    expect(await body(queued)).toEqual({ eventId, endpointId: endpoint.id, run: 'manual-1', status: 'pending' });

    const [again] = await r.until((g) => g.answered === 200);
    expect(again!.headers['webhook-id']).toBe(eventId);
    expect(again!.payload.data.id).toBe(invitation.id);
    const log = await deliveriesOnceLogged(endpoint.id, { run: 'manual-1', attempt: 1, succeeded: true }, `?eventId=${eventId}`);
    expect(log.data).toHaveLength(6);
    expect((await stack.api(`/v1/webhook-endpoints/${endpoint.id}/events/evt_${'f'.repeat(32)}/redeliver`, { method: 'POST' })).status).toBe(404);
  });

  it('sends batch.completed when a bulk upload is done, with its counts', async () => {
    const r = await receiver();
    await endpointFor(r, { eventTypes: ['batch.completed'] });
    const response = await stack.api('/v1/invitations/bulk', {
      method: 'POST',
      json: { invitations: [{ email: 'bulk-1@webhooks.example', role: 'member' }, { email: 'not-an-address', role: 'member' }], sendEmail: false },
    });
    expect(response.status).toBe(202);
    const { id } = await body(response);
    const [done] = await r.until((g) => g.payload?.data?.id === id);
    expect(done!.payload).toMatchObject({ type: 'batch.completed', data: { object: 'batch', id, tenantId: stack.tenant.id, status: 'completed', total: 2, results: { created: 1, invalid: 1 } } });
    expect(r.received).toHaveLength(1);
  });
});

describe('outbound safety', () => {
  it('refuses http and private, loopback, link-local and special-purpose targets outside dev', async () => {
    const strict = await listen(apiDeps({ ...stack.deps, webhooks: webhookSettings() } as typeof stack.deps, stack.client, { limits: { writesPerMinute: 0, loginsPerMinute: 0 } }), '127.0.0.1', 0);
    try {
      const base = `http://127.0.0.1:${(strict.address() as AddressInfo).port}`;
      for (const url of [
        'http://hooks.example.com/usher',
        'https://127.0.0.1/hooks',
        'https://10.1.2.3/hooks',
        'https://192.168.0.10/hooks',
        'https://169.254.169.254/latest/meta-data',
        'https://[::1]/hooks',
        'https://[fd00::1]/hooks',
        'https://[::ffff:127.0.0.1]/hooks',
        'https://localhost/hooks',
        'https://app.localhost/hooks',
        'https://user:secret@hooks.example.com/',
      ]) {
        const response = await fetch(`${base}/v1/webhook-endpoints`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.tenant.owner.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url }),
        });
        expect(response.status, url).toBe(400);
        expect((await body(response)).errors, url).toEqual([{ path: 'url', message: expect.any(String) }]);
      }
    } finally {
      await closeServer(strict);
    }

    for (const address of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd12:3456::1', 'ff02::1', '::ffff:10.0.0.1', '2001:db8::1']) {
      expect(isSpecialPurposeAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:81c::200e']) {
      expect(isSpecialPurposeAddress(address), address).toBe(false);
    }
  });

  it('checks the addresses a name resolves to at delivery time, on the connection itself', async () => {
    const refusal = await new Promise<Error | null>((resolve) => guardedLookup('localhost', { all: true }, (err) => resolve(err)));
    expect(refusal?.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a private or special-purpose address/);

    // A name other than localhost that resolves to this machine (its host name, in most containers and laptops).
    const r = await receiver();
    const name = os.hostname();
    const resolved = await dns.promises.lookup(name).catch(() => undefined);
    if (!resolved || !isSpecialPurposeAddress(resolved.address)) return;
    const port = new URL(r.url).port;
    const result = await postWebhook({
      url: `http://${name}:${port}/hooks`,
      headers: {},
      body: '{}',
      policy: { allowHttp: true, allowPrivateTargets: false },
      timeoutMs: 5000,
      bodyBytes: 1024,
    });
    expect(result).toMatchObject({ statusCode: null, retryable: false, error: expect.stringContaining('target refused') });
    expect(r.received).toHaveLength(0);
  });
});

describe('the dispatcher', () => {
  it('never moves past an event whose transaction is still open, so a late commit is not skipped', async () => {
    const open = await stack.db.startTransaction().execute();
    try {
      await recordAudit(open, { tenantId: stack.tenant.id, invitationId: null, actor: 'test', action: 'test.slow', data: {} });
      await recordAudit(stack.db, { tenantId: stack.tenant.id, invitationId: null, actor: 'test', action: 'test.fast', data: {} });
      const fast = { id: Number((await stack.db.selectFrom('audit_events').select('id').where('action', '=', 'test.fast').executeTakeFirstOrThrow()).id) };
      const cursor = () => stack.db.withTables<{ webhook_dispatch_cursor: { audit_event_id: number } }>().selectFrom('webhook_dispatch_cursor').select('audit_event_id').executeTakeFirstOrThrow();
      // The committed row came after the open one: it is held back until that one has committed or rolled back.
      await expectStaysTrue(async () => (await cursor()).audit_event_id < fast.id, 500);
      expect((await auditEventsPastCursor(stack.db, 1000)).map((e) => e.action)).not.toContain('test.fast');
      await open.commit().execute();
      await expect.poll(async () => (await cursor()).audit_event_id, { timeout: 10_000 }).toBeGreaterThanOrEqual(fast.id);
    } catch (err) {
      await open.rollback().execute().catch(() => undefined);
      throw err;
    }
  });
});
