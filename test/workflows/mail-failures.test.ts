import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { listEmailMessages } from '../../src/db/email-messages';
import { findInvitationById } from '../../src/db/invitations';
import { createInvitation } from '../../src/invitations/create-invitation';
import { acceptByToken } from '../../src/invitations/invitee-actions';
import { resendInvitation } from '../../src/invitations/manage';
import type { CaughtMessage, SmtpBehaviour } from '../../src/main/dev/mail-catcher';
import { stateQuery, workflowIdFor } from '../../workflows/messages';
import { sentTo } from '../support/mail';
import { addMember, createTestTenant, type TestTenant } from '../support/tenants';
import { type InviteCommand, invitationHandle, memberInvitation, startTimeSkippingStack, type TimeSkippingStack, tokenOf } from '../support/time-skipping';

/**
 * What a real mail server does to a send, each ending as a final status with its reason, never as a failed workflow.
 * The loopback SMTP server answers per address as each test tells it; SMTP timeouts are short so a server that goes
 * silent costs seconds, and the retry window (MAIL_RETRY_HOURS) is one hour, which the time-skipping server skips.
 */
const HOUR = 60 * 60 * 1000;
type Reply = number | 'stall' | undefined;
/** Per address: the reply to RCPT TO and after the data, by attempt (1, 2, …). */
const rules = new Map<string, { rcpt?: (attempt: number) => Reply; data?: (attempt: number) => Reply }>();
const rcptAttempts = new Map<string, number>();
const dataAttempts = new Map<string, number>();
const count = (counts: Map<string, number>, key: string) => {
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
};

const smtp: SmtpBehaviour = {
  rcpt(address) {
    const rule = rules.get(address);
    if (!rule?.rcpt) return undefined;
    const reply = rule.rcpt(count(rcptAttempts, address));
    return typeof reply === 'number' ? reply : undefined;
  },
  data(message: CaughtMessage) {
    const address = message.to[0] ?? '';
    const rule = rules.get(address);
    return rule?.data ? rule.data(count(dataAttempts, address)) : undefined;
  },
};

let stack: TimeSkippingStack;
let tenant: TestTenant;
beforeAll(async () => {
  stack = await startTimeSkippingStack({
    mailRetryMs: HOUR,
    smtpTimeouts: { connectionMs: 2_000, greetingMs: 1_500, socketMs: 1_500 },
    smtp,
    // A step that fails for good for a reason no mail server gives: it must settle the invitation too.
    wrap: (activities) => ({
      ...activities,
      async provisionInvitee(input) {
        const invitation = await findInvitationById(stack.db, input.invitationId);
        if (invitation?.email.startsWith('broken-step')) throw ApplicationFailure.nonRetryable('the directory refused the user', 'DirectoryRefused');
        return activities.provisionInvitee(input);
      },
    }),
  });
  tenant = await createTestTenant(stack.db);
});
beforeEach(async () => {
  await stack.syncClock();
});
afterAll(async () => {
  await stack?.stop();
});

const invite = (email: string, extra: Partial<InviteCommand> = {}) => createInvitation(stack.deps, memberInvitation(tenant, email, extra));
const handleOf = (id: string) => invitationHandle(stack, id);
const auditActions = async (invitationId: string) =>
  (await stack.db.selectFrom('audit_events').select('action').where('invitation_id', '=', invitationId).orderBy('id').execute()).map((e) => e.action);

/** Polls, letting server time run on (retry backoffs are timers the time-skipping server skips). */
async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 120; i++) {
    const value = await probe();
    if (value) return value;
    await stack.env.sleep('5 seconds');
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function expectSettled(invitationId: string, status: string, reason: RegExp) {
  const result = await handleOf(invitationId).result();
  expect(result).toMatchObject({ status });
  expect(result.failureReason).toMatch(reason);
  // Completed, not failed: the outcome is the invitation's status, and the row says the same.
  expect((await handleOf(invitationId).describe()).status.name).toBe('COMPLETED');
  expect(await findInvitationById(stack.db, invitationId)).toMatchObject({ status, failure_reason: result.failureReason });
}

describe('mail failures end as a final status', () => {
  it('a reminder refused at RCPT (550) bounces the invitation; the workflow completes', async () => {
    rules.set('reminder-550@example.com', { rcpt: (n) => (n === 1 ? undefined : 550) });
    const { invitation } = await invite('reminder-550@example.com');
    await expectSettled(invitation.id, 'bounced', /refused reminder-550@example\.com at RCPT TO: 550/);
    expect(stack.mail.messages().filter(sentTo('reminder-550@example.com'))).toHaveLength(1);
    expect(await auditActions(invitation.id)).toEqual(expect.arrayContaining(['email.reminder.failed', 'invitation.bounced']));
    expect((await handleOf(invitation.id).query(stateQuery)).remindersSent).toBe(0);
  });

  it('a message refused after DATA (554) bounces the invitation', async () => {
    rules.set('data-554@example.com', { data: () => 554 });
    const { invitation } = await invite('data-554@example.com');
    await expectSettled(invitation.id, 'bounced', /refused data-554@example\.com at DATA: 554/);
    // Refused once, never retried.
    expect(stack.mail.attempts().filter((a) => sentTo('data-554@example.com')(a.message))).toHaveLength(1);
  });

  it('a 4xx is retried with backoff and delivered once, when the server takes it', async () => {
    rules.set('greylisted@example.com', { rcpt: (n) => (n <= 3 ? 451 : undefined) });
    const { invitation } = await invite('greylisted@example.com');
    const [entry] = await until(async () => {
      const rows = await listEmailMessages(stack.db, invitation.id);
      return rows[0]?.status === 'sent' && rows;
    }, 'the greylisted send');
    expect(entry).toMatchObject({ kind: 'invitation', attempts: 4 });
    expect(stack.mail.messages().filter(sentTo('greylisted@example.com'))).toHaveLength(1);
    expect((await handleOf(invitation.id).query(stateQuery)).status).toBe('pending');
  });

  it('4xx for longer than the retry window fails the invitation: mail undeliverable', async () => {
    rules.set('always-421@example.com', { rcpt: () => 421 });
    const { invitation } = await invite('always-421@example.com');
    await expectSettled(invitation.id, 'failed', /^mail undeliverable: .*421.*\(retried for 1(\.\d)? h\)$/);
    const [entry] = await listEmailMessages(stack.db, invitation.id);
    expect(entry!.attempts).toBeGreaterThan(5);
    expect(entry!.status).toBe('sending');
    expect(await auditActions(invitation.id)).toEqual(expect.arrayContaining(['email.invitation.failed', 'invitation.failed']));
  });

  it('a server that takes the message and never answers: the attempt times out and the retry sends the same Message-ID', async () => {
    rules.set('stalled@example.com', { data: (n) => (n === 1 ? 'stall' : undefined) });
    const { invitation } = await invite('stalled@example.com');
    const delivered = await until(() => stack.mail.messages().find(sentTo('stalled@example.com')), 'the retried send');
    const attempts = stack.mail.attempts().filter((a) => sentTo('stalled@example.com')(a.message));
    expect(attempts.map((a) => a.reply)).toEqual(['stall', 250]);
    const [entry] = await until(async () => {
      const rows = await listEmailMessages(stack.db, invitation.id);
      return rows[0]?.status === 'sent' && rows;
    }, 'the ledger');
    // Both deliveries are the same email: a mail system that got the first collapses the second into it.
    expect(attempts.map((a) => a.message.messageId)).toEqual([entry!.message_id, entry!.message_id]);
    expect(delivered.messageId).toBe(entry!.message_id);
    expect(entry!.attempts).toBe(2);
  });

  it('a server that never greets: the connection times out and the send is retried', async () => {
    stack.mail.behave({ ...smtp, silent: true });
    const connectionsBefore = stack.mail.connections();
    const { invitation } = await invite('silent-server@example.com');
    await until(() => stack.mail.connections() > connectionsBefore, 'a connection');
    stack.mail.behave(smtp);
    await until(() => stack.mail.messages().find(sentTo('silent-server@example.com')), 'the retried send');
    const [entry] = await listEmailMessages(stack.db, invitation.id);
    expect(entry!.attempts).toBeGreaterThanOrEqual(2);
  });

  it('a resend whose email bounces bounces the invitation', async () => {
    rules.set('resend-bounce@example.com', { rcpt: (n) => (n === 1 ? undefined : 550) });
    const { invitation } = await invite('resend-bounce@example.com');
    await stack.mail.waitFor(sentTo('resend-bounce@example.com'));
    await resendInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test' });
    await expectSettled(invitation.id, 'bounced', /refused resend-bounce@example\.com at RCPT TO: 550/);
  });

  it('a notice the inviter’s server refuses leaves the invitation accepted, and the failure in the audit log', async () => {
    const inviter = await addMember(stack.db, { tenantId: tenant.id, roleId: tenant.roles.admin, email: 'notice-refused@example.com' });
    rules.set('notice-refused@example.com', { rcpt: () => 550 });
    const { invitation } = await invite('notice-invitee@example.com', { inviterUserId: inviter.id });
    const email = await stack.mail.waitFor(sentTo('notice-invitee@example.com'));
    await acceptByToken(stack.deps, tokenOf(email.acceptLink));
    const result = await handleOf(invitation.id).result();
    expect(result).toMatchObject({ status: 'accepted', failureReason: null });
    expect((await handleOf(invitation.id).describe()).status.name).toBe('COMPLETED');
    expect((await findInvitationById(stack.db, invitation.id))?.status).toBe('accepted');
    expect(await auditActions(invitation.id)).toContain('email.notice.accepted.failed');
  });

  it('any other step that fails for good settles the invitation as failed with its reason', async () => {
    const { invitation } = await invite('broken-step@example.com');
    await expectSettled(invitation.id, 'failed', /the directory refused the user/);
    expect(stack.mail.messages().filter(sentTo('broken-step@example.com'))).toEqual([]);
  });

  it('every history above replays deterministically against the current workflow code', async () => {
    const rows = await stack.db.selectFrom('invitations').select(['id', 'email']).orderBy('created_at').execute();
    const workflowBundle = { code: await readFile(inject('workflowBundlePath'), 'utf8') };
    const histories = await Promise.all(rows.map(async (row) => ({ workflowId: workflowIdFor(row.id), history: await handleOf(row.id).fetchHistory(), email: row.email })));
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      expect(result.error, `${result.workflowId} does not replay`).toBeUndefined();
    }
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
