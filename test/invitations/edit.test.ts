import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sentTo } from '../support/mail';
import { body, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('editing a pending invitation over HTTP', () => {
  it('changes role, expiry and message in place; the timeline keeps what they were; the accept grants the new role', async () => {
    const created = await body(await stack.api('/v1/invitations', { method: 'POST', json: { email: 'patch@example.com', role: 'member', message: 'old' } }));
    const email = await stack.mail.waitFor(sentTo('patch@example.com'));

    const patched = await stack.api(`/v1/invitations/${created.id}`, { method: 'PATCH', json: { role: 'admin', expiresInDays: 30, message: 'new' } });
    expect(patched.status).toBe(200);
    const view = await body(patched);
    expect(view).toMatchObject({ id: created.id, status: 'pending', role: { slug: 'admin' }, message: 'new' });
    expect(Date.parse(view.expiresAt) - Date.parse(created.createdAt)).toBeGreaterThan(29 * 86_400_000);

    const read = await body(await stack.api(`/v1/invitations/${created.id}`));
    const edit = read.timeline.find((e: { action: string }) => e.action === 'invitation.edited');
    expect(edit.data).toMatchObject({ message: { from: 'old', to: 'new' }, expiresAt: { from: created.expiresAt, to: view.expiresAt } });

    const accepted = await stack.api('/v1/invitations/accept', { method: 'POST', json: { token: email.acceptLink!.split('/').pop() }, key: null });
    expect(accepted.status).toBe(200);
    const membership = await stack.db
      .selectFrom('memberships')
      .innerJoin('roles', 'roles.id', 'memberships.role_id')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('roles.slug')
      .where('users.email_canonical', '=', 'patch@example.com')
      .execute();
    expect(membership).toEqual([{ slug: 'admin' }]);
  });

  it('refuses an empty edit, an unknown field, a role above the inviter’s and an invitation no longer pending', async () => {
    const created = await body(await stack.api('/v1/invitations', { method: 'POST', json: { email: 'patch-2@example.com', role: 'member' } }));
    expect((await stack.api(`/v1/invitations/${created.id}`, { method: 'PATCH', json: {} })).status).toBe(400);
    expect((await stack.api(`/v1/invitations/${created.id}`, { method: 'PATCH', json: { email: 'other@example.com' } })).status).toBe(400);
    expect((await stack.api(`/v1/invitations/${created.id}`, { method: 'PATCH', json: { role: 'wizard' } })).status).toBe(400);
    await stack.api(`/v1/invitations/${created.id}/revoke`, { method: 'POST' });
    const late = await stack.api(`/v1/invitations/${created.id}`, { method: 'PATCH', json: { message: 'too late' } });
    expect(late.status).toBe(409);
    expect((await body(late)).type).toBe('urn:usher:problem:invitation-not-pending');
    const row = await stack.db.selectFrom('invitations').select(['message', 'role_id']).where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ message: null, role_id: stack.tenant.roles.member });
  });
});
