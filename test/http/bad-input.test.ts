import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStaysTrue } from '../support/settled';
import { addMember } from '../support/tenants';
import { body, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

let counter = 0;
/** A fresh mailbox per request: the stack is shared by every test in this file. */
const fresh = (label: string) => `bad-${label}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

/** 43 base64url characters: shaped like a real accept token, but never minted. */
const unknownToken = () => randomBytes(32).toString('base64url');

const countInvitations = async (): Promise<number> =>
  Number((await stack.db.selectFrom('invitations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

/** Workflows on this file's own task queue: one per invitation row, whatever the test did. */
const countWorkflows = async (): Promise<number> => (await stack.client.workflow.count(`TaskQueue="${stack.taskQueue}"`)).count;

interface Snapshot {
  invitations: number;
  workflows: number;
  mail: number;
}

/** What exists now: rows, workflows (once visibility has caught up with the rows) and received emails. */
async function snapshot(): Promise<Snapshot> {
  const invitations = await countInvitations();
  await expect.poll(countWorkflows, { timeout: 10_000, interval: 100 }).toBe(invitations);
  return { invitations, workflows: invitations, mail: stack.mail.messages().length };
}

/** After a refusal: nothing was written, nothing started, nothing sent, even a moment later. */
async function expectNothingHappened(before: Snapshot): Promise<void> {
  await expectStaysTrue(async () => (await countInvitations()) === before.invitations && stack.mail.messages().length === before.mail);
  expect(await countInvitations()).toBe(before.invitations);
  expect(await countWorkflows()).toBe(before.workflows);
  expect(stack.mail.messages().length).toBe(before.mail);
}

/** An RFC 9457 problem with the exact status and type; returns the parsed body. */
async function expectProblem(response: Response, status: number, code: string): Promise<any> {
  const text = await response.text();
  expect({ status: response.status, body: text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text);
  expect(problem).toMatchObject({
    type: `urn:usher:problem:${code}`,
    status,
    title: expect.any(String),
    detail: expect.any(String),
    instance: expect.any(String),
    requestId: response.headers.get('x-request-id'),
  });
  return problem;
}

/** Sends the request, checks the problem, and checks that it left no trace. */
async function refused(send: () => Promise<Response>, status: number, code: string): Promise<any> {
  const before = await snapshot();
  const problem = await expectProblem(await send(), status, code);
  await expectNothingHappened(before);
  return problem;
}

const create = (json: unknown, init: { key?: string | null; headers?: Record<string, string> } = {}) =>
  stack.api('/v1/invitations', { method: 'POST', json, ...init });

/** A link-only invitation (no email), for tests that need an invitation to exist; returns it with its token. */
async function linkOnlyInvitation(): Promise<{ id: string; token: string; workflowId: string }> {
  const response = await create({ email: fresh('setup'), role: 'member', sendEmail: false });
  expect(response.status).toBe(201);
  const invitation = await body(response);
  const token = new URL(invitation.acceptUrl).pathname.split('/').at(-1)!;
  return { id: invitation.id, token, workflowId: invitation.workflowId };
}

const fieldErrors = (problem: any): string[] => (problem.errors ?? []).map((e: { path: string }) => e.path);

describe('creating an invitation with a body the API cannot read', () => {
  it('refuses malformed JSON with 400 malformed-json', async () => {
    await refused(
      () => stack.api('/v1/invitations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"email": "${fresh('json')}", "role": ` }),
      400,
      'malformed-json',
    );
  });

  it('refuses JSON that is not an object', async () => {
    for (const raw of ['[]', 'null', '"a@example.com"', '42']) {
      await refused(() => stack.api('/v1/invitations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw }), 400, 'invalid-request');
    }
  });

  it('refuses an unknown field and names it', async () => {
    const problem = await refused(() => create({ email: fresh('unknown-field'), role: 'member', isSuperuser: true }), 400, 'invalid-request');
    expect(problem.detail).toContain('isSuperuser');
    expect(JSON.stringify(problem.errors)).toContain('isSuperuser');
  });

  it('refuses a text/plain body with 415, even when it holds valid JSON', async () => {
    await refused(
      () =>
        stack.api('/v1/invitations', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ email: fresh('text-plain'), role: 'member' }),
        }),
      415,
      'unsupported-media-type',
    );
  });

  it('refuses a body over 1 MB with 413 (declared length)', async () => {
    const huge = JSON.stringify({ email: fresh('huge'), role: 'member', message: 'x'.repeat(1024 * 1024 + 10) });
    const before = await snapshot();
    const response = await rawPost('/v1/invitations', huge, { 'content-length': String(Buffer.byteLength(huge)) });
    expect(response.status).toBe(413);
    expect(response.contentType).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(response.body)).toMatchObject({ type: 'urn:usher:problem:payload-too-large', status: 413 });
    await expectNothingHappened(before);
  });

  it('refuses a body over 1 MB with 413 when it arrives chunked, without a length', async () => {
    const huge = JSON.stringify({ email: fresh('huge-chunked'), role: 'member', message: 'x'.repeat(1024 * 1024 + 10) });
    const before = await snapshot();
    const response = await rawPost('/v1/invitations', huge, { 'transfer-encoding': 'chunked' });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ type: 'urn:usher:problem:payload-too-large', status: 413 });
    await expectNothingHappened(before);
  });
});

describe('creating an invitation with invalid values', () => {
  it('refuses an address that is not an email address', async () => {
    for (const email of ['not-an-email', 'two@@example.com', '', 'a@b@example.com']) {
      const problem = await refused(() => create({ email, role: 'member' }), 400, 'invalid-request');
      expect(fieldErrors(problem)).toContain('email');
    }
  });

  it('refuses an address carrying CR/LF header injection', async () => {
    for (const email of ['a@example.com\r\nBcc: x@evil.com', 'a@example.com\nBcc: x@evil.com', 'a@example.com\rBcc: x@evil.com']) {
      const problem = await refused(() => create({ email, role: 'member' }), 400, 'invalid-request');
      expect(fieldErrors(problem)).toContain('email');
    }
    expect(stack.mail.messages().some((m) => m.to.some((t) => t.includes('evil.com')))).toBe(false);
  });

  it('refuses a request without an email or without a role, naming what is missing', async () => {
    const noEmail = await refused(() => create({ role: 'member' }), 400, 'invalid-request');
    expect(fieldErrors(noEmail)).toEqual(['email']);
    const noRole = await refused(() => create({ email: fresh('no-role') }), 400, 'invalid-request');
    expect(fieldErrors(noRole)).toEqual(['role']);
    const empty = await refused(() => create({}), 400, 'invalid-request');
    expect(fieldErrors(empty).sort()).toEqual(['email', 'role']);
  });

  it('refuses an expiry of 0 days or of more than 365 days', async () => {
    for (const expiresInDays of [0, 366, -1, 1.5]) {
      const problem = await refused(() => create({ email: fresh('expiry'), role: 'member', expiresInDays }), 400, 'invalid-request');
      expect(fieldErrors(problem)).toEqual(['expiresInDays']);
    }
  });

  it('refuses a role the tenant does not have', async () => {
    const problem = await refused(() => create({ email: fresh('role'), role: 'superuser' }), 400, 'invalid-request');
    expect(problem.detail).toContain('superuser');
  });

  it('refuses a member who tries to invite someone as admin with 403 role-too-high', async () => {
    const member = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.member, email: fresh('member') });
    await refused(() => create({ email: fresh('above'), role: 'admin' }, { key: member.apiKey }), 403, 'role-too-high');
    await refused(() => create({ email: fresh('above'), role: 'owner' }, { key: member.apiKey }), 403, 'role-too-high');
  });

  it('refuses a redirect to a host that is not on the tenant allow-list', async () => {
    for (const redirectUrl of [
      'https://evil.example.net/welcome',
      'https://app.example.com.evil.example.net/welcome',
      'https://app.example.com@evil.example.net/welcome',
      'https://sub.app.example.com/welcome',
    ]) {
      const problem = await refused(() => create({ email: fresh('redirect'), role: 'member', redirectUrl }), 400, 'redirect-not-allowed');
      expect(problem.field).toBe('redirectUrl');
    }
  });

  it('refuses a redirect that is not an http(s) URL', async () => {
    for (const redirectUrl of ['javascript:alert(1)', 'ftp://app.example.com/x', 'not a url']) {
      const problem = await refused(() => create({ email: fresh('redirect-scheme'), role: 'member', redirectUrl }), 400, 'invalid-request');
      expect(fieldErrors(problem)).toEqual(['redirectUrl']);
    }
  });
});

describe('calling the API without a valid key', () => {
  it('answers 401 with WWW-Authenticate: Bearer when no key is sent', async () => {
    const before = await snapshot();
    const response = await create({ email: fresh('no-key'), role: 'member' }, { key: null });
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectProblem(response, 401, 'unauthorized');
    const list = await stack.api('/v1/invitations', { key: null });
    expect(list.headers.get('www-authenticate')).toBe('Bearer');
    await expectProblem(list, 401, 'unauthorized');
    await expectNothingHappened(before);
  });

  it('answers 401 with WWW-Authenticate: Bearer when the key is wrong', async () => {
    const before = await snapshot();
    for (const key of ['usher_not-a-real-key', `${stack.tenant.owner.apiKey}x`, stack.tenant.owner.apiKey.slice(0, -1)]) {
      const response = await create({ email: fresh('wrong-key'), role: 'member' }, { key });
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      await expectProblem(response, 401, 'unauthorized');
    }
    const basic = await stack.api('/v1/invitations', { key: null, headers: { authorization: `Basic ${Buffer.from('owner:secret').toString('base64')}` } });
    expect(basic.headers.get('www-authenticate')).toBe('Bearer');
    await expectProblem(basic, 401, 'unauthorized');
    await expectNothingHappened(before);
  });
});

describe('invitee links that do not work', () => {
  it('answers 404 token-not-found for an unknown or malformed token on accept and decline', async () => {
    for (const token of [unknownToken(), 'garbage', '../../etc/passwd', 'a'.repeat(200)]) {
      await refused(() => stack.api('/v1/invitations/accept', { method: 'POST', json: { token }, key: null }), 404, 'token-not-found');
      await refused(() => stack.api('/v1/invitations/decline', { method: 'POST', json: { token }, key: null }), 404, 'token-not-found');
    }
    await refused(() => stack.api(`/v1/invitations/lookup?token=${unknownToken()}`, { key: null }), 404, 'token-not-found');
  });

  it('shows a 404 HTML page for a garbage link', async () => {
    const before = await snapshot();
    for (const token of ['garbage', unknownToken()]) {
      const response = await fetch(`${stack.baseUrl}/invite/${token}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await response.text()).toContain('This invitation link is not valid');
    }
    const posted = await fetch(`${stack.baseUrl}/invite/${unknownToken()}`, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect(posted.status).toBe(404);
    expect(posted.headers.get('content-type')).toMatch(/^text\/html/);
    await expectNothingHappened(before);
  });

  it('answers 410 token-gone when a link that was already used is used again', async () => {
    const invitation = await linkOnlyInvitation();
    const first = await stack.api('/v1/invitations/accept', { method: 'POST', json: { token: invitation.token }, key: null });
    expect(first.status).toBe(200);
    expect(await body(first)).toMatchObject({ invitationId: invitation.id, status: 'accepted' });
    // The workflow ends after telling the inviter; from then on nothing more is due.
    expect((await stack.client.workflow.getHandle(invitation.workflowId).result()).status).toBe('accepted');
    const memberships = async () =>
      Number((await stack.db.selectFrom('memberships').select((eb) => eb.fn.countAll().as('n')).where('tenant_id', '=', stack.tenant.id).executeTakeFirstOrThrow()).n);
    const membersBefore = await memberships();

    await refused(() => stack.api('/v1/invitations/accept', { method: 'POST', json: { token: invitation.token }, key: null }), 410, 'token-gone');
    await refused(() => stack.api('/v1/invitations/decline', { method: 'POST', json: { token: invitation.token }, key: null }), 410, 'token-gone');
    const page = await fetch(`${stack.baseUrl}/invite/${invitation.token}`);
    expect(page.status).toBe(410);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await memberships()).toBe(membersBefore);
  });
});

describe('addressing an invitation that is not there', () => {
  it('answers 404 for an invitation id that does not exist', async () => {
    const id = randomUUID();
    await refused(() => stack.api(`/v1/invitations/${id}`), 404, 'not-found');
    await refused(() => stack.api(`/v1/invitations/${id}/resend`, { method: 'POST' }), 404, 'not-found');
    await refused(() => stack.api(`/v1/invitations/${id}/revoke`, { method: 'POST' }), 404, 'not-found');
  });

  it('answers 400 for an id that is not a uuid', async () => {
    for (const id of ['123', 'not-a-uuid', `${randomUUID()}x`]) {
      const problem = await refused(() => stack.api(`/v1/invitations/${id}`), 400, 'invalid-request');
      expect(problem.detail).toContain('invitation id');
      await refused(() => stack.api(`/v1/invitations/${id}/revoke`, { method: 'POST' }), 400, 'invalid-request');
      await refused(() => stack.api(`/v1/invitations/${id}/resend`, { method: 'POST' }), 400, 'invalid-request');
    }
  });
});

describe('listing with a query the API cannot read', () => {
  it('refuses an unknown status, an out-of-range limit, an unknown parameter and a forged cursor', async () => {
    for (const query of ['status=bogus', 'limit=0', 'limit=101', 'limit=abc', 'sort=email', 'cursor=not-a-cursor']) {
      await refused(() => stack.api(`/v1/invitations?${query}`), 400, 'invalid-request');
    }
  });
});

describe('repeating a request the API already handled', () => {
  it('refuses an Idempotency-Key reused with a different body with 422', async () => {
    const key = `key-${randomUUID()}`;
    const first = await create({ email: fresh('idem'), role: 'member', sendEmail: false }, { headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    const original = await body(first);
    const problem = await refused(
      () => create({ email: fresh('idem-other'), role: 'member', sendEmail: false }, { headers: { 'idempotency-key': key } }),
      422,
      'idempotency-key-reused',
    );
    expect(problem.invitationId).toBe(original.id);
    // Same address, different options: still a different request.
    await refused(
      () => create({ email: original.email, role: 'admin', sendEmail: false }, { headers: { 'idempotency-key': key } }),
      422,
      'idempotency-key-reused',
    );
  });

  it('answers 409 invitation-not-pending to a resend or revoke of an invitation that was revoked', async () => {
    const invitation = await linkOnlyInvitation();
    const revoked = await stack.api(`/v1/invitations/${invitation.id}/revoke`, { method: 'POST', json: { reason: 'sent by mistake' } });
    expect(revoked.status).toBe(200);
    expect(await body(revoked)).toMatchObject({ id: invitation.id, status: 'revoked' });

    await refused(() => stack.api(`/v1/invitations/${invitation.id}/revoke`, { method: 'POST' }), 409, 'invitation-not-pending');
    await refused(() => stack.api(`/v1/invitations/${invitation.id}/resend`, { method: 'POST' }), 409, 'invitation-not-pending');
    await refused(() => stack.api(`/v1/invitations/${invitation.id}/resend`, { method: 'POST', json: { expiresInDays: 7 } }), 409, 'invitation-not-pending');
    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.status).toBe('revoked');
    expect(read.timeline.filter((e: { action: string }) => e.action === 'invitation.revoked')).toHaveLength(1);
    expect(read.timeline.some((e: { action: string }) => e.action === 'invitation.resent')).toBe(false);
  });
});

/**
 * A POST through node:http, so a server that answers before reading the whole body is seen as it is: whatever status
 * it sends, even if it then closes the connection while the client is still writing.
 */
function rawPost(path: string, payload: string, headers: Record<string, string>): Promise<{ status: number; contentType: string; body: string }> {
  const url = new URL(path, stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.tenant.owner.apiKey}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // EPIPE/ECONNRESET while still writing is fine once a response has arrived; without one it is a failure.
    req.on('error', (err) => setTimeout(() => reject(err), 1000).unref());
    if (headers['transfer-encoding'] === 'chunked') {
      const buffer = Buffer.from(payload);
      for (let i = 0; i < buffer.length; i += 64 * 1024) req.write(buffer.subarray(i, i + 64 * 1024));
      req.end();
    } else {
      req.end(payload);
    }
  });
}
