import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/db/api-keys';
import { sentTo } from '../support/mail';
import { body, startStack, type Stack } from '../support/stack';
import { addMember } from '../support/tenants';

/** Usher grants access: each test here is a way to get a role one was not meant to get, and must fail. */
let stack: Stack;
let member: Awaited<ReturnType<typeof addMember>>;
beforeAll(async () => {
  stack = await startStack({ resendLimits: { cooldownSeconds: 0, perDay: 10, perInvitation: 50 } });
  member = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.member, email: `member-${randomBytes(3).toString('hex')}@example.com` });
});
afterAll(async () => {
  await stack?.stop();
});

const fresh = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.com`;

async function problem(response: Response, status: number, code: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(JSON.parse(text).type).toBe(`urn:usher:problem:${code}`);
  return JSON.parse(text);
}

const rowsFor = (email: string) => stack.db.selectFrom('invitations').select(['id', 'status', 'role_id']).where('email_canonical', '=', email.toLowerCase()).execute();

describe('a member key', () => {
  it('cannot mint an owner invitation by naming the owner as inviter, nor by naming itself', async () => {
    const email = fresh('escalate');
    const named = await stack.api('/v1/invitations', {
      method: 'POST',
      key: member.apiKey,
      json: { email, role: 'owner', inviter: stack.tenant.owner.email, sendEmail: false },
    });
    const refused = await problem(named, 403, 'forbidden');
    expect(refused.detail).toMatch(/own user/);
    await problem(await stack.api('/v1/invitations', { method: 'POST', key: member.apiKey, json: { email, role: 'owner', sendEmail: false } }), 403, 'role-too-high');
    expect(await rowsFor(email)).toEqual([]);
  });

  it('cannot raise an invitation by PATCH, nor mint a fresh link to one above its rank', async () => {
    const own = await body(await stack.api('/v1/invitations', { method: 'POST', key: member.apiKey, json: { email: fresh('patch'), role: 'member', sendEmail: false } }));
    await problem(await stack.api(`/v1/invitations/${own.id}`, { method: 'PATCH', key: member.apiKey, json: { role: 'owner' } }), 403, 'role-too-high');
    expect((await body(await stack.api(`/v1/invitations/${own.id}`))).role.slug).toBe('member');

    const ownersLinkOnly = await body(await stack.api('/v1/invitations', { method: 'POST', json: { email: fresh('owners'), role: 'admin', sendEmail: false } }));
    const resent = await problem(await stack.api(`/v1/invitations/${ownersLinkOnly.id}/resend`, { method: 'POST', key: member.apiKey }), 403, 'role-too-high');
    expect(resent.acceptUrl).toBeUndefined();
    await problem(await stack.api(`/v1/invitations/${ownersLinkOnly.id}`, { method: 'PATCH', key: member.apiKey, json: { message: 'mine now' } }), 403, 'role-too-high');
  });

  it('sends bulk rows that are each judged at its own rank', async () => {
    const high = fresh('bulk-high');
    const low = fresh('bulk-low');
    const accepted = await body(
      await stack.api('/v1/invitations/bulk', { method: 'POST', key: member.apiKey, json: { sendEmail: false, invitations: [{ email: high, role: 'admin' }, { email: low, role: 'member' }] } }),
    );
    await expect
      .poll(async () => (await body(await stack.api(`/v1/invitation-batches/${accepted.id}`, { key: member.apiKey }))).status, { timeout: 30_000 })
      .toBe('completed');
    const batch = await body(await stack.api(`/v1/invitation-batches/${accepted.id}`, { key: member.apiKey }));
    expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(['invalid', 'created']);
    expect(await rowsFor(high)).toEqual([]);
  });
});

describe('a server key', () => {
  it('invites on behalf of any member, judged at that member’s rank and never above the key’s ceiling', async () => {
    const { secret } = await createApiKey(stack.db, { tenantId: stack.tenant.id, userId: stack.tenant.owner.id, name: 'backend', kind: 'server', maxRank: 50 });
    const asOwner = (role: string) =>
      stack.api('/v1/invitations', { method: 'POST', key: secret, json: { email: fresh(`ceiling-${role}`), role, inviter: stack.tenant.owner.email, sendEmail: false } });
    await problem(await asOwner('owner'), 403, 'role-too-high');
    expect((await asOwner('admin')).status).toBe(201);
    // On behalf of a member, the member's own rank holds.
    const forMember = await stack.api('/v1/invitations', { method: 'POST', key: secret, json: { email: fresh('for-member'), role: 'admin', inviter: member.email, sendEmail: false } });
    await problem(forMember, 403, 'role-too-high');
  });

  it('without the invitations:write scope may not invite, and is told which scope is missing', async () => {
    const { secret } = await createApiKey(stack.db, { tenantId: stack.tenant.id, userId: stack.tenant.owner.id, name: 'reader', kind: 'server', scopes: ['invitations:read'] });
    expect((await stack.api('/v1/invitations', { key: secret })).status).toBe(200);
    const refused = await problem(await stack.api('/v1/invitations', { method: 'POST', key: secret, json: { email: fresh('scope'), role: 'member' } }), 403, 'missing-scope');
    expect(refused.scope).toBe('invitations:write');
  });
});

describe('accepting for a signed-in account', () => {
  async function tenantPolicy(policy: 'link' | 'email' | 'domain', signInUrl: string | null = null) {
    await stack.db.updateTable('tenants').set({ accept_policy: policy, sign_in_url: signInUrl }).where('id', '=', stack.tenant.id).execute();
  }
  async function linkOnly(email: string) {
    const created = await body(await stack.api('/v1/invitations', { method: 'POST', json: { email, role: 'member', sendEmail: false } }));
    return { id: created.id as string, token: new URL(created.acceptUrl).pathname.split('/').at(-1)! };
  }
  const accept = (json: unknown, key: string | null = stack.tenant.owner.apiKey) => stack.api('/v1/invitations/accept', { method: 'POST', key, json });

  it('under the email policy refuses another account with 403 wrong-account and leaves the invitation pending', async () => {
    await tenantPolicy('email');
    try {
      const email = fresh('bound');
      const { id, token } = await linkOnly(email);
      await problem(await accept({ token, account: { email: 'intruder@example.com' } }), 403, 'wrong-account');
      await problem(await accept({ token }, null), 403, 'wrong-account');
      expect((await body(await stack.api(`/v1/invitations/${id}`))).status).toBe('pending');

      // A member key may not speak for an account; the product's server key may.
      await problem(await accept({ token, account: { email } }, member.apiKey), 403, 'forbidden');
      const ok = await accept({ token, account: { email: email.toUpperCase(), externalId: 'acct_42' } });
      expect(ok.status).toBe(200);
      const membership = await stack.db
        .selectFrom('memberships')
        .innerJoin('invitation_acceptances', 'invitation_acceptances.id', 'memberships.accepted_by')
        .select(['invitation_acceptances.account_email', 'invitation_acceptances.account_external_id'])
        .where('memberships.invitation_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(membership).toEqual({ account_email: email.toUpperCase(), account_external_id: 'acct_42' });
    } finally {
      await tenantPolicy('link');
    }
  });

  it('under the domain policy accepts any account of the invited domain, and no other', async () => {
    await tenantPolicy('domain');
    try {
      const { token } = await linkOnly(`someone-${randomBytes(3).toString('hex')}@corp.example`);
      await problem(await accept({ token, account: { email: 'colleague@other.example' } }), 403, 'wrong-account');
      expect((await accept({ token, account: { email: 'colleague@CORP.example' } })).status).toBe(200);
    } finally {
      await tenantPolicy('link');
    }
  });

  it('sends the invitee from the hosted page to the tenant’s sign-in page instead of granting', async () => {
    await tenantPolicy('email', 'https://app.example.com/sign-in?next=%2Fteam');
    try {
      const email = fresh('hosted');
      await stack.api('/v1/invitations', { method: 'POST', json: { email, role: 'member' } });
      const link = (await stack.mail.waitFor(sentTo(email))).acceptLink!;
      const token = link.split('/').at(-1)!;
      expect(await (await fetch(link)).text()).toContain('Sign in to accept');
      const posted = await fetch(link, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
      expect(posted.status).toBe(303);
      const location = new URL(posted.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe('https://app.example.com/sign-in');
      expect(location.searchParams.get('token')).toBe(token);
      expect(location.searchParams.get('next')).toBe('/team');
      expect((await rowsFor(email))[0]!.status).toBe('pending');
    } finally {
      await tenantPolicy('link');
    }
  });
});

describe('resending', () => {
  it('is refused with 429 and Retry-After at the 11th resend inside a day', async () => {
    const created = await body(await stack.api('/v1/invitations', { method: 'POST', json: { email: fresh('flood'), role: 'member', sendEmail: false } }));
    for (let i = 1; i <= 10; i++) expect((await stack.api(`/v1/invitations/${created.id}/resend`, { method: 'POST' })).status).toBe(200);
    const eleventh = await stack.api(`/v1/invitations/${created.id}/resend`, { method: 'POST' });
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(23 * 3600);
    await problem(eleventh, 429, 'rate-limited');
    expect((await body(await stack.api(`/v1/invitations/${created.id}`))).timeline.filter((e: { action: string }) => e.action === 'invitation.resent')).toHaveLength(10);
  });
});
