import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { listEmailMessages } from '../../src/db/email-messages';
import { findInvitationById, insertInvitation } from '../../src/db/invitations';
import { UsherError } from '../../src/lib/errors';
import { createInvitation, firstToken, hashCommand, newInvitationRow, workflowInput } from '../../src/invitations/create-invitation';
import { insertToken } from '../../src/db/tokens';
import { findRoleBySlug } from '../../src/db/roles';
import { findTenant } from '../../src/db/tenants';
import { canonicalEmail } from '../../src/lib/email-address';
import { newId } from '../../src/lib/ids';
import { acceptByToken, declineByToken, lookupByToken } from '../../src/invitations/invitee-actions';
import { editInvitation, resendInvitation, revokeInvitation } from '../../src/invitations/manage';
import { stateQuery, workflowIdFor } from '../../workflows/messages';
import { sentTo } from '../support/mail';
import { addMember, createTestTenant, type TestTenant } from '../support/tenants';
import { type InviteCommand, invitationHandle, memberInvitation, startTimeSkippingStack, type TimeSkippingStack, tokenOf } from '../support/time-skipping';

const DAY = 24 * 60 * 60 * 1000;
let stack: TimeSkippingStack;
let tenant: TestTenant;
beforeAll(async () => {
  stack = await startTimeSkippingStack();
  tenant = await createTestTenant(stack.db);
});
beforeEach(async () => {
  await stack.syncClock();
});
afterAll(async () => {
  await stack?.stop();
});

const invite = (email: string, extra: Partial<InviteCommand> = {}) => createInvitation(stack.deps, memberInvitation(tenant, email, extra));
const handleOf = (invitationId: string) => invitationHandle(stack, invitationId);
const membershipsOf = (email: string) =>
  stack.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .innerJoin('roles', 'roles.id', 'memberships.role_id')
    .select('roles.slug')
    .where('memberships.tenant_id', '=', tenant.id)
    .where('users.email_canonical', '=', email)
    .execute();
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => (err instanceof UsherError ? err.code : err),
  );

describe('the invitation workflow', () => {
  it('accepted: grants the role exactly once and tells the inviter', async () => {
    const { invitation } = await invite('accept@example.com', { role: { slug: 'admin' } });
    const email = await stack.mail.waitFor(sentTo('accept@example.com'));
    const outcome = await acceptByToken(stack.deps, tokenOf(email.acceptLink));
    expect(outcome.invitationId).toBe(invitation.id);

    const result = await handleOf(invitation.id).result();
    expect(result.status).toBe('accepted');
    expect(await membershipsOf('accept@example.com')).toEqual([{ slug: 'admin' }]);
    const notice = await stack.mail.waitFor((m) => sentTo(tenant.owner.email)(m) && m.subject.includes('accept@example.com'));
    expect(notice.subject).toBe('accept@example.com accepted your invitation');
    // A second accept with the same link is refused and grants nothing more.
    expect(await refusal(acceptByToken(stack.deps, tokenOf(email.acceptLink)))).toBe('token-gone');
    expect(await membershipsOf('accept@example.com')).toHaveLength(1);
  });

  it('a new invitation takes the merged steps from its input version, without the patch markers and their search attribute', async () => {
    const { invitation } = await invite('versioned@example.com');
    const email = await stack.mail.waitFor(sentTo('versioned@example.com'));
    await acceptByToken(stack.deps, tokenOf(email.acceptLink));
    expect((await handleOf(invitation.id).result()).status).toBe('accepted');
    const events = (await handleOf(invitation.id).fetchHistory()).events ?? [];
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toEqual([]);
    expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion)).toEqual([]);
    expect(events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [])).toEqual(['openInvitation', 'acceptInvitation']);
  });

  it('declined: no role, the link is dead, the workflow ends declined', async () => {
    const { invitation } = await invite('decline@example.com');
    const email = await stack.mail.waitFor(sentTo('decline@example.com'));
    await declineByToken(stack.deps, tokenOf(email.acceptLink));
    expect((await handleOf(invitation.id).result()).status).toBe('declined');
    expect(await membershipsOf('decline@example.com')).toEqual([]);
    expect(await refusal(lookupByToken(stack.deps, tokenOf(email.acceptLink)))).toBe('token-gone');
    expect((await findInvitationById(stack.db, invitation.id))?.status).toBe('declined');
  });

  it('revoked: the link grants nothing afterwards', async () => {
    const { invitation } = await invite('revoke@example.com');
    const email = await stack.mail.waitFor(sentTo('revoke@example.com'));
    await revokeInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', reason: 'sent by mistake' });
    expect((await handleOf(invitation.id).result()).status).toBe('revoked');
    expect(await refusal(acceptByToken(stack.deps, tokenOf(email.acceptLink)))).toBe('token-gone');
    expect(await membershipsOf('revoke@example.com')).toEqual([]);
    const row = await findInvitationById(stack.db, invitation.id);
    expect(row).toMatchObject({ status: 'revoked', failure_reason: 'sent by mistake' });
  });

  it('expired: three reminders at 2, 5 and 10 days of 14, then expiry and a notice to the inviter', async () => {
    const { invitation } = await invite('expire@example.com');
    const created = invitation.created_at.getTime();
    const result = await handleOf(invitation.id).result();

    expect(result.status).toBe('expired');
    expect(result.remindersSent).toBe(3);
    expect(result.reminderTimes.map((t) => (Date.parse(t) - created) / DAY)).toEqual([2, 5, 10]);
    const received = stack.mail.messages().filter(sentTo('expire@example.com'));
    expect(received.map((m) => m.subject.split(':')[0])).toEqual([
      expect.stringContaining('invited you to'),
      'Reminder',
      'Reminder',
      'Reminder',
    ]);
    // Every reminder carries the same, still valid, link until expiry.
    expect(new Set(received.map((m) => m.acceptLink)).size).toBe(1);
    const notice = await stack.mail.waitFor((m) => sentTo(tenant.owner.email)(m) && m.subject.includes('expire@example.com'));
    expect(notice.subject).toBe('Your invitation to expire@example.com expired');

    const row = await findInvitationById(stack.db, invitation.id);
    expect(row).toMatchObject({ status: 'expired', reminders_sent: 3 });
    expect(await refusal(lookupByToken(stack.deps, tokenOf(received[0]!.acceptLink)))).toBe('token-gone');
    const reminders = await stack.db
      .selectFrom('audit_events')
      .select('data')
      .where('invitation_id', '=', invitation.id)
      .where('action', '=', 'email.reminder.sent')
      .orderBy('id')
      .execute();
    expect(reminders.map((r) => (Date.parse(r.data.dueAt as string) - created) / DAY)).toEqual([2, 5, 10]);
  });

  it('scales the reminder schedule to the invitation’s own TTL', async () => {
    const { invitation } = await invite('seven-days@example.com', { expiresInDays: 7 });
    const result = await handleOf(invitation.id).result();
    expect(result.status).toBe('expired');
    expect(result.reminderTimes.map((t) => (Date.parse(t) - invitation.created_at.getTime()) / DAY)).toEqual([1, 2.5, 5]);
  });

  it('stops reminding once the invitation is accepted', async () => {
    const { invitation } = await invite('late@example.com');
    const email = await stack.mail.waitFor(sentTo('late@example.com'));
    await stack.env.sleep('3 days');
    const state = await handleOf(invitation.id).query(stateQuery);
    expect(state.remindersSent).toBe(1);
    expect(Date.parse(state.nextReminderAt!) - invitation.created_at.getTime()).toBe(5 * DAY);
    // The row, which reads of the invitation answer from, says what the workflow says.
    expect(await findInvitationById(stack.db, invitation.id)).toMatchObject({ next_reminder_known: true, next_reminder_at: new Date(state.nextReminderAt!) });
    await acceptByToken(stack.deps, tokenOf(email.acceptLink));
    const result = await handleOf(invitation.id).result();
    expect(result).toMatchObject({ status: 'accepted', remindersSent: 1, nextReminderAt: null });
    expect(stack.mail.messages().filter(sentTo('late@example.com'))).toHaveLength(2);
  });

  it('resend rotates the token: a new link works, the old one is dead, the expiry moves', async () => {
    const { invitation } = await invite('resend@example.com');
    const first = await stack.mail.waitFor(sentTo('resend@example.com'));
    await resendInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', expiresInDays: 30 });
    const second = await stack.mail.waitFor((m) => sentTo('resend@example.com')(m) && m.id !== first.id);
    expect(second.acceptLink).not.toBe(first.acceptLink);
    expect(await refusal(lookupByToken(stack.deps, tokenOf(first.acceptLink)))).toBe('token-gone');
    expect(await refusal(acceptByToken(stack.deps, tokenOf(first.acceptLink)))).toBe('token-gone');

    const state = await handleOf(invitation.id).query(stateQuery);
    expect(state.tokenGeneration).toBe(1);
    expect(Date.parse(state.expiresAt) - stack.deps.clock().getTime()).toBeGreaterThan(29 * DAY);
    const row = await findInvitationById(stack.db, invitation.id);
    expect(row?.expires_at.toISOString()).toBe(state.expiresAt);
    // The new cycle's first reminder, recorded on the row once the new link's email is out.
    await expect.poll(async () => (await findInvitationById(stack.db, invitation.id))?.next_reminder_at?.toISOString()).toBe(state.nextReminderAt);

    await acceptByToken(stack.deps, tokenOf(second.acceptLink));
    expect((await handleOf(invitation.id).result()).status).toBe('accepted');
    expect(await membershipsOf('resend@example.com')).toEqual([{ slug: 'member' }]);
  });

  it('an inviter who lost the right before the accept grants nothing', async () => {
    const inviter = await addMember(stack.db, { tenantId: tenant.id, roleId: tenant.roles.admin, email: 'demoted-admin@example.com' });
    const { invitation } = await invite('too-late@example.com', { role: { slug: 'admin' }, inviterUserId: inviter.id });
    const email = await stack.mail.waitFor(sentTo('too-late@example.com'));
    await stack.db.updateTable('memberships').set({ role_id: tenant.roles.member }).where('user_id', '=', inviter.id).execute();

    expect(await refusal(acceptByToken(stack.deps, tokenOf(email.acceptLink)))).toBe('inviter-not-allowed');
    const result = await handleOf(invitation.id).result();
    expect(result.status).toBe('failed');
    expect(result.failureReason).toMatch(/may not grant/);
    expect(await membershipsOf('too-late@example.com')).toEqual([]);
    expect((await findInvitationById(stack.db, invitation.id))?.status).toBe('failed');
  });

  it('the opening marks the row as started with its invitee, and records its email once', async () => {
    const { invitation } = await invite('opening-marks@example.com');
    expect(invitation.workflow_started_at).toBeNull();
    // The invitee is provisioned, and the row marked with it, before the email goes out.
    await stack.mail.waitFor(sentTo('opening-marks@example.com'));
    const stored = (await findInvitationById(stack.db, invitation.id))!;
    expect(stored.workflow_started_at).not.toBeNull();
    const invitee = await stack.db.selectFrom('users').select('id').where('tenant_id', '=', tenant.id).where('email_canonical', '=', 'opening-marks@example.com').executeTakeFirstOrThrow();
    expect(stored.invitee_user_id).toBe(invitee.id);
    await expect.poll(async () => (await listEmailMessages(stack.db, invitation.id)).map((m) => [m.kind, m.status, m.attempts])).toEqual([['invitation', 'sent', 1]]);
    const audit = await stack.db.selectFrom('audit_events').select('action').where('invitation_id', '=', invitation.id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['invitation.created', 'email.invitation.sent']);
  });

  it('an opening that refuses the inviter still marks the row as started, so the reconciler does not start it again', async () => {
    // The inviter lost the right between the API's check and the opening: stored and started as the API does.
    const inviter = await addMember(stack.db, { tenantId: tenant.id, roleId: tenant.roles.member, email: 'demoted-early@example.com' });
    const cmd = memberInvitation(tenant, 'refused-opening@example.com', { role: { slug: 'admin' }, inviterUserId: inviter.id });
    const tenantRow = (await findTenant(stack.db, tenant.id))!;
    const role = (await findRoleBySlug(stack.db, tenant.id, 'admin'))!;
    const row = newInvitationRow(cmd, { id: newId(), tenant: tenantRow, role, emailCanonical: canonicalEmail(cmd.email), requestHash: hashCommand(cmd), now: stack.deps.clock() });
    const stored = await insertInvitation(stack.db, row);
    await stack.deps.workflows.start(workflowInput(stored, tenantRow));

    const result = await handleOf(stored.id).result();
    expect(result.status).toBe('failed');
    expect(result.failureReason).toMatch(/may not grant/);
    const after = (await findInvitationById(stack.db, stored.id))!;
    expect(after.workflow_started_at).not.toBeNull();
    expect(after.invitee_user_id).toBeNull();
    expect(stack.mail.messages().filter(sentTo('refused-opening@example.com'))).toEqual([]);
  });

  it('a link-only invitation sends no email and accepts through the returned URL', async () => {
    const created = await invite('link-only@example.com', { sendEmail: false });
    expect(created.acceptUrl).toMatch(/^http:\/\/usher\.test\/invite\//);
    await acceptByToken(stack.deps, tokenOf(created.acceptUrl));
    expect((await handleOf(created.invitation.id).result()).status).toBe('accepted');
    expect(stack.mail.messages().filter(sentTo('link-only@example.com'))).toEqual([]);
    expect(await listEmailMessages(stack.db, created.invitation.id)).toMatchObject([{ kind: 'notice.accepted' }]);
  });

  it('an edit changes role, expiry and message in place, keeps the history, and the accept grants the new role', async () => {
    const inviter = await addMember(stack.db, { tenantId: tenant.id, roleId: tenant.roles.admin, email: 'editing-admin@example.com' });
    const { invitation } = await invite('edited@example.com', { inviterUserId: inviter.id, message: 'first words' });
    const email = await stack.mail.waitFor(sentTo('edited@example.com'));

    expect(await refusal(editInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', role: 'owner' }))).toBe('role-too-high');
    await editInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', role: 'admin', expiresInDays: 3, message: 'second words' });

    const state = await handleOf(invitation.id).query(stateQuery);
    expect(Date.parse(state.expiresAt) - stack.deps.clock().getTime()).toBeLessThanOrEqual(3 * DAY);
    expect(Date.parse(state.expiresAt) - stack.deps.clock().getTime()).toBeGreaterThan(3 * DAY - 60_000);
    const row = await findInvitationById(stack.db, invitation.id);
    expect(row).toMatchObject({
      role_id: tenant.roles.admin,
      message: 'second words',
      expires_at: new Date(state.expiresAt),
      next_reminder_known: true,
      next_reminder_at: new Date(state.nextReminderAt!),
    });
    const edits = await stack.db.selectFrom('audit_events').select('data').where('invitation_id', '=', invitation.id).where('action', '=', 'invitation.edited').execute();
    expect(edits).toHaveLength(1);
    expect(edits[0]!.data).toMatchObject({ roleId: { from: tenant.roles.member, to: tenant.roles.admin }, message: { from: 'first words', to: 'second words' } });

    await acceptByToken(stack.deps, tokenOf(email.acceptLink));
    expect((await handleOf(invitation.id).result()).status).toBe('accepted');
    expect(await membershipsOf('edited@example.com')).toEqual([{ slug: 'admin' }]);
  });

  it('a shortened expiry ends the invitation at the new time', async () => {
    const { invitation } = await invite('shortened@example.com');
    await editInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', expiresInDays: 1 });
    const result = await handleOf(invitation.id).result();
    expect(result.status).toBe('expired');
    // The reminder schedule follows the new, shorter life: 2/14, 5/14 and 10/14 of it.
    const life = Date.parse(result.expiresAt) - invitation.created_at.getTime();
    expect(result.reminderTimes.map((t) => Math.round(((Date.parse(t) - invitation.created_at.getTime()) / life) * 14))).toEqual([2, 5, 10]);
    const expiredAt = (await findInvitationById(stack.db, invitation.id))!.decided_at!.getTime();
    expect(Math.abs(expiredAt - Date.parse(result.expiresAt))).toBeLessThan(1000);
  });

  it('opened by its bulk chunk: the workflow runs no opening step, then reminds and expires as any other', async () => {
    // What a chunk leaves behind (src/bulk/process-chunk.ts): the row stored, the invitation sent, then the start.
    const cmd = memberInvitation(tenant, 'opened-expire@example.com');
    const tenantRow = (await findTenant(stack.db, tenant.id))!;
    const role = (await findRoleBySlug(stack.db, tenant.id, 'member'))!;
    const row = newInvitationRow(cmd, { id: newId(), tenant: tenantRow, role, emailCanonical: canonicalEmail(cmd.email), requestHash: hashCommand(cmd), now: stack.deps.clock() });
    const stored = await stack.db.transaction().execute(async (tx) => {
      const invitation = await insertInvitation(tx, row);
      await insertToken(tx, firstToken(stack.deps.tokenKeys, row.id));
      return invitation;
    });
    await stack.deps.workflows.start(workflowInput(stored, tenantRow, { opened: true }));

    const result = await handleOf(stored.id).result();
    expect(result).toMatchObject({ status: 'expired', remindersSent: 3 });
    const received = stack.mail.messages().filter(sentTo('opened-expire@example.com'));
    expect(received.map((m) => m.subject.split(':')[0])).toEqual(['Reminder', 'Reminder', 'Reminder']);
    const { events } = await handleOf(stored.id).fetchHistory();
    expect(events?.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
  });

  it('every history above replays deterministically against the current workflow code', async () => {
    const rows = await stack.db.selectFrom('invitations').select(['id', 'email']).orderBy('created_at').execute();
    const workflowBundle = { code: await readFile(inject('workflowBundlePath'), 'utf8') };
    const histories = await Promise.all(rows.map(async (row) => ({ workflowId: workflowIdFor(row.id), history: await handleOf(row.id).fetchHistory(), email: row.email })));
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      expect(result.error, `${result.workflowId} does not replay`).toBeUndefined();
    }
    expect(histories.length).toBeGreaterThanOrEqual(10);
    // USHER_RECORD_HISTORIES=<dir> keeps these as fixtures for test/workflows/replay.test.ts.
    const dir = process.env.USHER_RECORD_HISTORIES;
    if (dir) {
      await mkdir(dir, { recursive: true });
      for (const { history, email } of histories) {
        await writeFile(path.join(dir, `${email.split('@')[0]}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
      }
    }
  });
});
