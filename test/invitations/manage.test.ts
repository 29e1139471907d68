import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sentTo } from '../support/mail';
import { untilSendsSettled } from '../support/settled';
import { body, startStack, type Stack } from '../support/stack';
import { addMember, createTestTenant } from '../support/tenants';
import { stateQuery } from '../../workflows/messages';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const DAY_MS = 24 * 60 * 60 * 1000;
let counter = 0;
/** A fresh mailbox per test: the stack is shared by every test in this file. */
const fresh = (label: string) => `mgmt-${label}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

const create = (json: Record<string, unknown>, init: { key?: string | null; headers?: Record<string, string> } = {}) =>
  stack.api('/v1/invitations', { method: 'POST', json, ...init });

async function created(json: Record<string, unknown>, init: { key?: string | null; headers?: Record<string, string> } = {}): Promise<any> {
  const response = await create(json, init);
  expect(response.status, await response.clone().text()).toBe(201);
  return body(response);
}

const tokenOf = (link: string): string => new URL(link).pathname.split('/').at(-1)!;
const mailTo = (address: string) => stack.mail.messages().filter(sentTo(address));
const actions = (invitation: { timeline: { action: string }[] }) => invitation.timeline.map((e) => e.action);

async function expectProblem(response: Response, status: number, code: string): Promise<any> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = await body(response);
  expect(problem).toMatchObject({ type: `urn:usher:problem:${code}`, status });
  return problem;
}

const invitationRows = (tenantId: string, emailCanonical: string) =>
  stack.db.selectFrom('invitations').select(['id', 'status']).where('tenant_id', '=', tenantId).where('email_canonical', '=', emailCanonical).execute();

const membershipOf = (tenantId: string, emailCanonical: string) =>
  stack.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .innerJoin('roles', 'roles.id', 'memberships.role_id')
    .select(['roles.slug'])
    .where('memberships.tenant_id', '=', tenantId)
    .where('users.email_canonical', '=', emailCanonical)
    .execute();

describe('one open invitation per person', () => {
  it('refuses a second invitation to the same address in another letter case, and points at the open one', async () => {
    const address = fresh('grace');
    const first = await created({ email: address.toUpperCase(), role: 'member', sendEmail: false });

    const again = await create({ email: address, role: 'admin', sendEmail: false });
    const problem = await expectProblem(again, 409, 'open-invitation-exists');
    expect(problem.invitationId).toBe(first.id);
    expect(await invitationRows(stack.tenant.id, address)).toEqual([{ id: first.id, status: 'pending' }]);

    // Once the open one is withdrawn, the person can be invited again.
    expect((await stack.api(`/v1/invitations/${first.id}/revoke`, { method: 'POST' })).status).toBe(200);
    const second = await created({ email: address, role: 'member', sendEmail: false });
    expect(second.id).not.toBe(first.id);
  });

  it('refuses to invite someone who is already a member', async () => {
    const address = fresh('member');
    await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.member, email: address });
    await expectProblem(await create({ email: address.toUpperCase(), role: 'admin' }), 409, 'already-member');
    await expectProblem(await create({ email: stack.tenant.owner.email, role: 'member' }), 409, 'already-member');
    expect(await invitationRows(stack.tenant.id, address)).toEqual([]);
  });

  it('twenty simultaneous invitations to one address create one invitation and send one email', async () => {
    const address = fresh('burst');
    const responses = await Promise.all(Array.from({ length: 20 }, () => create({ email: address, role: 'member' })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);

    const winner = await body(responses.find((r) => r.status === 201)!);
    for (const response of responses.filter((r) => r.status === 409)) {
      const problem = await expectProblem(response, 409, 'open-invitation-exists');
      expect(problem.invitationId).toBe(winner.id);
    }
    expect(await invitationRows(stack.tenant.id, address)).toEqual([{ id: winner.id, status: 'pending' }]);

    await stack.mail.waitFor(sentTo(address));
    await untilSendsSettled(stack, address);
    expect(mailTo(address)).toHaveLength(1);
  });
});

describe('retrying a create with an Idempotency-Key', () => {
  it('returns the same invitation, marked as replayed, and sends one email', async () => {
    const address = fresh('idem');
    const key = `retry-${randomUUID()}`;
    const request = { email: address, role: 'member', message: 'See you there' };

    const first = await create(request, { headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const original = await body(first);

    const second = await create(request, { headers: { 'idempotency-key': key } });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const replayed = await body(second);
    expect(replayed.id).toBe(original.id);
    expect(second.headers.get('location')).toBe(`/v1/invitations/${original.id}`);

    expect(await invitationRows(stack.tenant.id, address)).toHaveLength(1);
    await stack.mail.waitFor(sentTo(address));
    await untilSendsSettled(stack, address);
    expect(mailTo(address)).toHaveLength(1);
  });

  it('returns the same invitation when retries arrive while the first request is still running', async () => {
    // A client that times out and retries races its own first request. The race is timing-dependent, so run a few bursts.
    const bursts: { address: string; outcomes: string[]; replayed: number }[] = [];
    for (let round = 0; round < 5; round++) {
      const address = fresh('idem-race');
      const key = `race-${randomUUID()}`;
      const responses = await Promise.all(Array.from({ length: 10 }, () => create({ email: address, role: 'member' }, { headers: { 'idempotency-key': key } })));
      const outcomes = await Promise.all(
        responses.map(async (r) => {
          const answer = await body(r);
          return `${r.status} ${answer.id ?? answer.type}`;
        }),
      );
      bursts.push({ address, outcomes, replayed: responses.filter((r) => r.headers.get('idempotent-replayed') === 'true').length });
    }
    for (const { address, outcomes, replayed } of bursts) {
      const rows = await invitationRows(stack.tenant.id, address);
      expect(rows).toHaveLength(1);
      // Every answer is the one invitation: 201 with its id, nine of them marked as replays; never a 409.
      expect(outcomes).toEqual(Array(10).fill(`201 ${rows[0]!.id}`));
      expect(replayed).toBe(9);
    }
    for (const { address } of bursts) await stack.mail.waitFor(sentTo(address));
    for (const { address } of bursts) await untilSendsSettled(stack, address);
    for (const { address } of bursts) expect(mailTo(address)).toHaveLength(1);
  });
});

describe('listing invitations', () => {
  it('pages newest first with a cursor, and filters by status and email', async () => {
    const tenant = await createTestTenant(stack.db);
    const key = tenant.owner.apiKey;
    const made: any[] = [];
    for (let i = 0; i < 5; i++) made.push(await created({ email: fresh(`list${i}`), role: 'member', sendEmail: false }, { key }));
    const newestFirst = made.map((m) => m.id).reverse();

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `limit=2&cursor=${encodeURIComponent(cursor)}` : 'limit=2';
      const response = await stack.api(`/v1/invitations?${query}`, { key });
      expect(response.status).toBe(200);
      const page = await body(response);
      pageSizes.push(page.data.length);
      seen.push(...page.data.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    } while (cursor !== null && pageSizes.length < 10);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(newestFirst);

    const everything = await body(await stack.api('/v1/invitations', { key }));
    expect(everything.data.map((i: { id: string }) => i.id)).toEqual(newestFirst);
    expect(everything.nextCursor).toBeNull();

    const withdrawn = made[1];
    expect((await stack.api(`/v1/invitations/${withdrawn.id}/revoke`, { method: 'POST', key })).status).toBe(200);

    const revoked = await body(await stack.api('/v1/invitations?status=revoked', { key }));
    expect(revoked.data.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([[withdrawn.id, 'revoked']]);
    const pending = await body(await stack.api('/v1/invitations?status=pending', { key }));
    expect(pending.data.map((i: { id: string }) => i.id)).toEqual(newestFirst.filter((id) => id !== withdrawn.id));

    const target = made[3];
    const byEmail = await body(await stack.api(`/v1/invitations?email=${encodeURIComponent(target.email.toUpperCase())}`, { key }));
    expect(byEmail.data.map((i: { id: string }) => i.id)).toEqual([target.id]);
    const none = await body(await stack.api(`/v1/invitations?status=revoked&email=${encodeURIComponent(target.email)}`, { key }));
    expect(none).toEqual({ data: [], nextCursor: null });

    // A filtered listing pages too, and the cursor keeps the filter's order.
    const firstPending = await body(await stack.api('/v1/invitations?status=pending&limit=3', { key }));
    const restPending = await body(await stack.api(`/v1/invitations?status=pending&limit=3&cursor=${encodeURIComponent(firstPending.nextCursor)}`, { key }));
    expect([...firstPending.data, ...restPending.data].map((i: { id: string }) => i.id)).toEqual(pending.data.map((i: { id: string }) => i.id));
    expect(restPending.nextCursor).toBeNull();
  });
});

describe('tenant isolation', () => {
  it("another tenant's key cannot see, list, revoke or resend this tenant's invitations", async () => {
    const address = fresh('isolated');
    const invitation = await created({ email: address, role: 'member', sendEmail: false });
    const other = await createTestTenant(stack.db);
    const key = other.owner.apiKey;

    await expectProblem(await stack.api(`/v1/invitations/${invitation.id}`, { key }), 404, 'not-found');
    await expectProblem(await stack.api(`/v1/invitations/${invitation.id}/revoke`, { method: 'POST', key }), 404, 'not-found');
    await expectProblem(await stack.api(`/v1/invitations/${invitation.id}/resend`, { method: 'POST', key }), 404, 'not-found');
    expect(await body(await stack.api('/v1/invitations', { key }))).toEqual({ data: [], nextCursor: null });
    expect(await body(await stack.api(`/v1/invitations?email=${encodeURIComponent(address)}`, { key }))).toEqual({ data: [], nextCursor: null });

    expect((await body(await stack.api(`/v1/invitations/${invitation.id}`))).status).toBe('pending');

    // The same person may be invited by both tenants: one open invitation per tenant, not per address.
    const elsewhere = await created({ email: address, role: 'member', sendEmail: false }, { key });
    expect(elsewhere.id).not.toBe(invitation.id);
    expect((await body(await stack.api('/v1/invitations', { key }))).data.map((i: { id: string }) => i.id)).toEqual([elsewhere.id]);
  });
});

describe('one invitation, read and managed over HTTP', () => {
  it('shows a pending invitation with its timeline and the next reminder', async () => {
    const address = fresh('timeline');
    const invitation = await created({ email: address, role: 'member' });
    await stack.mail.waitFor(sentTo(address));

    let read: any;
    await expect
      .poll(async () => {
        read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
        return actions(read);
      })
      .toEqual(['invitation.created', 'email.invitation.sent']);
    expect(read.status).toBe('pending');
    expect(read.timeline[0]).toMatchObject({ action: 'invitation.created', actor: expect.stringMatching(/^api-key:/) });
    // Audit times come from the database clock, the invitation's from the API's: close, not equal.
    expect(Math.abs(Date.parse(read.timeline[0].at) - Date.parse(invitation.createdAt))).toBeLessThan(5_000);
    expect(read.timeline[1]).toMatchObject({ action: 'email.invitation.sent', actor: 'system' });
    // Tenant defaults: a 14-day invitation, reminded first after 2 days.
    const createdAt = Date.parse(invitation.createdAt);
    expect(read.expiresAt).toBe(new Date(createdAt + 14 * DAY_MS).toISOString());
    expect(read.nextReminderAt).toBe(new Date(createdAt + 2 * DAY_MS).toISOString());
  });

  it('answers the next reminder while no worker runs', async () => {
    const address = fresh('no-worker');
    const invitation = await created({ email: address, role: 'member' });
    await stack.mail.waitFor(sentTo(address));
    await stack.stopWorker();
    try {
      const response = await stack.api(`/v1/invitations/${invitation.id}`);
      expect(response.status).toBe(200);
      expect((await body(response)).nextReminderAt).toBe(new Date(Date.parse(invitation.createdAt) + 2 * DAY_MS).toISOString());
    } finally {
      await stack.startWorker();
    }
  });

  it('the next reminder moves with an edit of the expiry and starts over with a resend, as the workflow has it', async () => {
    const address = fresh('schedule');
    const invitation = await created({ email: address, role: 'member' });
    const first = await stack.mail.waitFor(sentTo(address));
    const workflowSays = async () => (await stack.client.workflow.getHandle(invitation.workflowId).query(stateQuery)).nextReminderAt;
    const read = async () => body(await stack.api(`/v1/invitations/${invitation.id}`));

    expect((await stack.api(`/v1/invitations/${invitation.id}`, { method: 'PATCH', json: { expiresInDays: 7 } })).status).toBe(200);
    const edited = await read();
    // The tenant's 2 days of 14, scaled to the invitation's new length (workflows/schedule.ts).
    const createdAt = Date.parse(invitation.createdAt);
    expect(edited.nextReminderAt).toBe(new Date(createdAt + Math.round((2 / 14) * (Date.parse(edited.expiresAt) - createdAt))).toISOString());
    expect(edited.nextReminderAt).toBe(await workflowSays());

    expect((await stack.api(`/v1/invitations/${invitation.id}/resend`, { method: 'POST' })).status).toBe(200);
    await stack.mail.waitFor((m) => sentTo(address)(m) && m.id !== first.id);
    // A new cycle from the resend to the same expiry: its first reminder is later than the edited one.
    await expect.poll(async () => (await read()).nextReminderAt).toBe(await workflowSays());
    expect(Date.parse((await read()).nextReminderAt)).toBeGreaterThan(Date.parse(edited.nextReminderAt));
  });

  it('a revoked invitation stops its emailed link from working', async () => {
    const address = fresh('revoke');
    const invitation = await created({ email: address, role: 'member' });
    const email = await stack.mail.waitFor(sentTo(address));
    expect((await fetch(email.acceptLink!)).status).toBe(200);

    const revoked = await stack.api(`/v1/invitations/${invitation.id}/revoke`, { method: 'POST', json: { reason: 'wrong person' } });
    expect(revoked.status).toBe(200);
    expect(await body(revoked)).toMatchObject({ id: invitation.id, status: 'revoked', failureReason: 'wrong person' });

    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.status).toBe('revoked');
    expect(read.nextReminderAt).toBeNull();
    expect(read.timeline.find((e: { action: string }) => e.action === 'invitation.revoked')).toMatchObject({ data: { reason: 'wrong person' } });

    const page = await fetch(email.acceptLink!);
    expect(page.status).toBe(410);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const posted = await fetch(email.acceptLink!, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect(posted.status).toBe(410);
    await expectProblem(await stack.api('/v1/invitations/accept', { method: 'POST', json: { token: tokenOf(email.acceptLink!) }, key: null }), 410, 'token-gone');
    expect(await membershipOf(stack.tenant.id, address)).toEqual([]);
    expect((await stack.client.workflow.getHandle(invitation.workflowId).result()).status).toBe('revoked');
  });

  it('a resend emails a new link that works, and the old link stops working', async () => {
    const address = fresh('resend');
    const invitation = await created({ email: address, role: 'admin' });
    const firstEmail = await stack.mail.waitFor(sentTo(address));

    const resent = await stack.api(`/v1/invitations/${invitation.id}/resend`, { method: 'POST' });
    expect(resent.status).toBe(200);
    const resentBody = await body(resent);
    expect(resentBody).toMatchObject({ id: invitation.id, status: 'pending' });
    expect(resentBody.acceptUrl).toBeUndefined();

    const secondEmail = await stack.mail.waitFor((m) => sentTo(address)(m) && m.id !== firstEmail.id);
    expect(secondEmail.acceptLink).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));
    expect(secondEmail.acceptLink).not.toBe(firstEmail.acceptLink);

    expect((await fetch(firstEmail.acceptLink!)).status).toBe(410);
    expect((await fetch(secondEmail.acceptLink!)).status).toBe(200);

    const accepted = await fetch(secondEmail.acceptLink!, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('https://app.example.com/home');
    expect(await membershipOf(stack.tenant.id, address)).toEqual([{ slug: 'admin' }]);

    expect((await fetch(firstEmail.acceptLink!)).status).toBe(410);
    expect((await fetch(secondEmail.acceptLink!)).status).toBe(410);
    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.status).toBe('accepted');
    expect(actions(read)).toContain('invitation.resent');
    expect(mailTo(address)).toHaveLength(2);
  });

  it('the invitee can decline through the API with the token from the email', async () => {
    const address = fresh('decline');
    const invitation = await created({ email: address, role: 'member' });
    const email = await stack.mail.waitFor(sentTo(address));
    const token = tokenOf(email.acceptLink!);

    const lookup = await stack.api(`/v1/invitations/lookup?token=${token}`, { key: null });
    expect(lookup.status).toBe(200);
    expect(await body(lookup)).toMatchObject({ invitationId: invitation.id, email: address, status: 'pending' });

    const declined = await stack.api('/v1/invitations/decline', { method: 'POST', json: { token }, key: null });
    expect(declined.status).toBe(200);
    expect(await body(declined)).toEqual({ invitationId: invitation.id, status: 'declined' });

    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.status).toBe('declined');
    expect(read.decidedAt).not.toBeNull();
    expect(actions(read)).toContain('invitation.declined');
    expect((await fetch(email.acceptLink!)).status).toBe(410);
    await expectProblem(await stack.api('/v1/invitations/accept', { method: 'POST', json: { token }, key: null }), 410, 'token-gone');
    expect(await membershipOf(stack.tenant.id, address)).toEqual([]);
    expect((await stack.client.workflow.getHandle(invitation.workflowId).result()).status).toBe('declined');
  });

  it('a link-only invitation returns its accept URL, sends no email, and the link accepts', async () => {
    const address = fresh('link-only');
    const response = await create({ email: address, role: 'member', sendEmail: false, redirectUrl: 'https://app.example.com/start' });
    expect(response.status).toBe(201);
    const invitation = await body(response);
    expect(invitation.sendEmail).toBe(false);
    expect(invitation.acceptUrl).toMatch(new RegExp(`^${stack.baseUrl}/invite/[A-Za-z0-9_-]{43}$`));

    // The URL is handed out at creation only.
    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.acceptUrl).toBeUndefined();
    expect(read.nextReminderAt).toBeNull();

    expect((await fetch(invitation.acceptUrl)).status).toBe(200);
    const accepted = await stack.api('/v1/invitations/accept', { method: 'POST', json: { token: tokenOf(invitation.acceptUrl) }, key: null });
    expect(accepted.status).toBe(200);
    expect(await body(accepted)).toEqual({ invitationId: invitation.id, status: 'accepted', redirectUrl: 'https://app.example.com/start' });
    expect(await membershipOf(stack.tenant.id, address)).toEqual([{ slug: 'member' }]);

    // Every email is sent by an activity, and the workflow has ended: its activities are all done.
    await stack.client.workflow.getHandle(invitation.workflowId).result();
    expect(mailTo(address)).toEqual([]);
  });
});

describe('service endpoints', () => {
  it('reports itself healthy and ready, with the database and Temporal checked', async () => {
    const health = await fetch(`${stack.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await body(health)).toEqual({ status: 'ok' });

    const ready = await fetch(`${stack.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await body(ready)).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  });

  it('publishes an OpenAPI 3.1 document that describes creating an invitation', async () => {
    const response = await fetch(`${stack.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    const document = await body(response);
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/v1/invitations'].post).toMatchObject({ summary: expect.any(String), requestBody: { required: true } });
    expect(Object.keys(document.paths['/v1/invitations'].post.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409']));
    expect(document.paths['/v1/invitations'].get).toBeDefined();
  });
});
