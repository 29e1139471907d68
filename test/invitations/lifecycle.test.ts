import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvitationStatusKey } from '../../workflows/search-attributes';
import { sentTo } from '../support/mail';
import { untilSendsSettled } from '../support/settled';
import { body, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('an invitation, end to end over HTTP', () => {
  it('is created, emailed, opened, accepted, and grants the role', async () => {
    const created = await stack.api('/v1/invitations', {
      method: 'POST',
      json: { email: 'Ada.Lovelace@Example.com', role: 'admin', message: 'Welcome <b>aboard</b>', redirectUrl: 'https://app.example.com/welcome' },
    });
    expect(created.status).toBe(201);
    const invitation = await body(created);
    expect(invitation).toMatchObject({ email: 'Ada.Lovelace@Example.com', status: 'pending', role: { slug: 'admin' } });
    expect(created.headers.get('location')).toBe(`/v1/invitations/${invitation.id}`);

    const email = await stack.mail.waitFor(sentTo('ada.lovelace@example.com'));
    expect(email.subject).toContain('invited you to');
    expect(email.html).toContain('Welcome &lt;b&gt;aboard&lt;/b&gt;');
    expect(email.html).not.toContain('<b>aboard</b>');
    expect(email.acceptLink).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));

    const pageResponse = await fetch(email.acceptLink!);
    expect(pageResponse.status).toBe(200);
    expect(pageResponse.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await pageResponse.text();
    expect(html).toContain(stack.tenant.slug);
    expect(html).toContain('Ada.Lovelace@Example.com');
    // Opening the page twice (a link scanner, then the person) must not use the link up.
    expect((await fetch(email.acceptLink!)).status).toBe(200);
    // The send is recorded a moment after the mail server has the email; the timeline below has it before the accept.
    await untilSendsSettled(stack, 'ada.lovelace@example.com');

    const accepted = await fetch(email.acceptLink!, {
      method: 'POST',
      body: new URLSearchParams({ decision: 'accept' }),
      redirect: 'manual',
    });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('https://app.example.com/welcome');

    const membership = await stack.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .innerJoin('roles', 'roles.id', 'memberships.role_id')
      .select(['roles.slug', 'users.email'])
      .where('memberships.tenant_id', '=', stack.tenant.id)
      .where('users.email_canonical', '=', 'ada.lovelace@example.com')
      .execute();
    expect(membership).toEqual([{ slug: 'admin', email: 'Ada.Lovelace@Example.com' }]);

    const handle = stack.client.workflow.getHandle(invitation.workflowId);
    const final = await handle.result();
    expect(final.status).toBe('accepted');
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(InvitationStatusKey)).toBe('accepted');

    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.status).toBe('accepted');
    expect(read.timeline.map((e: { action: string }) => e.action)).toEqual([
      'invitation.created',
      'email.invitation.sent',
      'role.granted',
      'invitation.accepted',
      'email.notice.accepted.sent',
    ]);
    const notice = await stack.mail.waitFor(sentTo(stack.tenant.owner.email));
    expect(notice.subject).toContain('accepted your invitation');

    // The link is spent.
    expect((await fetch(email.acceptLink!)).status).toBe(410);
  });
});
