import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listEmailMessages } from '../../src/db/email-messages';
import { findInvitationById, insertInvitation } from '../../src/db/invitations';
import { insertToken } from '../../src/db/tokens';
import { UsherError } from '../../src/lib/errors';
import { createInvitation } from '../../src/invitations/create-invitation';
import { newId } from '../../src/lib/ids';
import { startUnstartedInvitations } from '../../src/invitations/reconcile';
import { startUnstartedBatches } from '../../src/bulk/reconcile';
import { createBatch } from '../../src/bulk/create-batch';
import { findBatchById } from '../../src/db/batches';
import { hashToken, tokenFor } from '../../src/invitations/tokens';
import { invitationWorkflows } from '../../src/temporal/invitation-client';
import { workflowIdFor } from '../../workflows/messages';
import { sentTo } from '../support/mail';
import { createTestTenant, type TestTenant } from '../support/tenants';
import { invitationHandle, memberInvitation, startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping';

let stack: TimeSkippingStack;
let tenant: TestTenant;
let failNextSendAfterDelivery = false;

beforeAll(async () => {
  stack = await startTimeSkippingStack({
    rejectRecipient: (address) => address.startsWith('bounce'),
    // The real activity delivers the email, then the attempt "crashes" before Temporal hears of it: a lost ack.
    wrap: (activities) => ({
      ...activities,
      async sendInvitationEmail(input) {
        const result = await activities.sendInvitationEmail(input);
        if (failNextSendAfterDelivery) {
          failNextSendAfterDelivery = false;
          throw new Error('worker lost its connection after the send');
        }
        return result;
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

const command = (email: string) => memberInvitation(tenant, email);
const handleOf = (id: string) => invitationHandle(stack, id);

/** What grpc-js reports when a call's deadline passes. */
const deadlineExceeded = () => Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4, details: 'Deadline exceeded', metadata: {} });

async function until<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (value) return value;
    await stack.env.sleep('2 seconds');
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('when things go wrong', () => {
  it('a retried send after a lost acknowledgement does not email twice', async () => {
    failNextSendAfterDelivery = true;
    const { invitation } = await createInvitation(stack.deps, command('retry@example.com'));
    const [entry] = await until(async () => {
      const rows = await listEmailMessages(stack.db, invitation.id);
      return rows[0] && rows[0].attempts >= 2 && rows;
    }, 'the retried send');
    expect(entry).toMatchObject({ kind: 'invitation', status: 'sent', attempts: 2 });
    await stack.env.sleep('1 minute');
    const received = stack.mail.messages().filter(sentTo('retry@example.com'));
    expect(received).toHaveLength(1);
    expect(received[0]!.messageId).toBe(entry!.message_id);
    const sentEvents = await stack.db
      .selectFrom('audit_events')
      .select('action')
      .where('invitation_id', '=', invitation.id)
      .where('action', '=', 'email.invitation.sent')
      .execute();
    expect(sentEvents).toHaveLength(1);
    expect((await handleOf(invitation.id).query('state')) as { status: string }).toMatchObject({ status: 'pending' });
  });

  it('an address the mail server refuses ends the invitation as bounced', async () => {
    const { invitation } = await createInvitation(stack.deps, command('bounce@example.com'));
    const result = await handleOf(invitation.id).result();
    expect(result.status).toBe('bounced');
    expect(result.failureReason).toMatch(/refused bounce@example\.com/);
    expect((await findInvitationById(stack.db, invitation.id))?.status).toBe('bounced');
  });

  it('with Temporal unreachable, create refuses and leaves no row behind; once known down, at once', async () => {
    const connection = await Connection.lazy({ address: '127.0.0.1:1' });
    const deps = { ...stack.deps, workflows: invitationWorkflows(new Client({ connection }), stack.taskQueue) };
    const before = await stack.db.selectFrom('invitations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const error = await createInvitation(deps, command('unreachable@example.com')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsherError);
    expect(error).toMatchObject({ code: 'temporal-unavailable', extra: { retryAfter: 2 } });
    // The service is now known to be down: the next create is answered without waiting for a deadline.
    const started = performance.now();
    const again = await createInvitation(deps, command('unreachable-2@example.com')).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(again).toMatchObject({ code: 'temporal-unavailable' });
    const after = await stack.db.selectFrom('invitations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    expect(await stack.db.selectFrom('invitation_tokens').selectAll().where('invitation_id', 'in', stack.db.selectFrom('invitations').select('id').where('email', 'like', 'unreachable%')).execute()).toEqual([]);
    // Decisions too are answered at once while it is down.
    const decision = await deps.workflows.revoke(newId(), { actor: 'test' }).catch((e: unknown) => e);
    expect(decision).toMatchObject({ code: 'unavailable', extra: { retryAfter: 2 } });
    // And a bulk upload, with no batch left behind.
    const batches = await stack.db.selectFrom('invitation_batches').select('id').execute();
    const upload = { tenantId: tenant.id, inviterUserId: tenant.owner.id, maxRank: null, rows: [{ email: 'unreachable-3@example.com' }], sendEmail: true, actor: 'test' };
    expect(await createBatch(deps, upload).catch((e: unknown) => e)).toMatchObject({ code: 'temporal-unavailable', extra: { retryAfter: 2 } });
    expect(await stack.db.selectFrom('invitation_batches').select('id').execute()).toEqual(batches);
    deps.workflows.health.stop();
    await connection.close();
  }, 30_000);

  it('a start whose outcome is unknown keeps the row: it answers 503, and the reconciler finishes the start', async () => {
    // The call times out on the way back, after the server may or may not have acted: here it did not.
    const client = new Client({
      connection: stack.env.connection,
      interceptors: { workflow: [{ start: () => Promise.reject(deadlineExceeded()) }] },
    });
    const deps = { ...stack.deps, workflows: invitationWorkflows(client, stack.taskQueue) };
    const error = await createInvitation(deps, command('unknown-start@example.com')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable', extra: { invitationId: expect.any(String) } });
    const id = (error as UsherError).extra.invitationId as string;
    expect(await findInvitationById(stack.db, id)).toMatchObject({ status: 'pending', workflow_started_at: null });
    expect(await startUnstartedInvitations(stack.deps, { graceMs: 0 })).toBe(1);
    await stack.mail.waitFor(sentTo('unknown-start@example.com'));
    expect((await handleOf(id).query('state')) as { status: string }).toMatchObject({ status: 'pending' });
  });

  it('a bulk batch whose start outcome is unknown is kept: 503 with its id, and the reconciler starts it', async () => {
    const client = new Client({
      connection: stack.env.connection,
      interceptors: { workflow: [{ start: () => Promise.reject(deadlineExceeded()) }] },
    });
    const deps = { ...stack.deps, workflows: invitationWorkflows(client, stack.taskQueue) };
    const error = await createBatch(deps, {
      tenantId: tenant.id,
      inviterUserId: tenant.owner.id,
      maxRank: null,
      rows: [{ email: 'unknown-batch-start@example.com', role: 'member' }],
      sendEmail: true,
      actor: 'test',
      idempotencyKey: 'unknown-batch-start',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable', extra: { batchId: expect.any(String) } });
    const batchId = (error as UsherError).extra.batchId as string;
    expect(await findBatchById(stack.db, batchId)).toMatchObject({ status: 'running', total: 1 });
    // The caller's retry with its Idempotency-Key finds the batch it was not told about.
    expect(await createBatch(stack.deps, { tenantId: tenant.id, inviterUserId: tenant.owner.id, maxRank: null, rows: [{ email: 'x@example.com' }], sendEmail: true, actor: 'test', idempotencyKey: 'unknown-batch-start' })).toMatchObject({ id: batchId, replayed: true });
    expect(await startUnstartedBatches(stack.deps, { graceMs: 0 })).toBeGreaterThanOrEqual(1);
    await stack.mail.waitFor(sentTo('unknown-batch-start@example.com'));
    // A second pass finds the batch running (or done) and starts nothing twice: still one email.
    await startUnstartedBatches(stack.deps, { graceMs: 0 });
    expect(stack.mail.messages().filter(sentTo('unknown-batch-start@example.com'))).toHaveLength(1);
  });

  it('a start that went through but answered late: the retry with its Idempotency-Key gets the invitation, one email', async () => {
    const client = new Client({
      connection: stack.env.connection,
      interceptors: {
        workflow: [
          {
            async start(input, next) {
              await next(input);
              throw deadlineExceeded();
            },
          },
        ],
      },
    });
    const deps = { ...stack.deps, workflows: invitationWorkflows(client, stack.taskQueue) };
    const cmd = { ...command('late-answer@example.com'), idempotencyKey: 'late-answer-1' };
    const error = await createInvitation(deps, cmd).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable' });
    const retried = await createInvitation(stack.deps, cmd);
    expect(retried).toMatchObject({ replayed: true, invitation: { id: (error as UsherError).extra.invitationId } });
    await stack.mail.waitFor(sentTo('late-answer@example.com'));
    await startUnstartedInvitations(stack.deps, { graceMs: 0 });
    await stack.env.sleep('1 minute');
    expect(stack.mail.messages().filter(sentTo('late-answer@example.com'))).toHaveLength(1);
  });

  it('an invitation written just before a crash gets its workflow from the reconciler', async () => {
    // Exactly what createInvitation leaves if the process dies between its commit and the workflow start.
    const id = newId();
    const now = stack.deps.clock();
    await insertInvitation(stack.db, {
      id,
      tenant_id: tenant.id,
      email: 'crash@example.com',
      email_canonical: 'crash@example.com',
      invitee_user_id: null,
      inviter_user_id: tenant.owner.id,
      role_id: tenant.roles.member,
      status: 'pending',
      failure_reason: null,
      message: null,
      first_name: null,
      last_name: null,
      redirect_url: null,
      language: 'en',
      send_email: true,
      origin: 'api',
      expires_at: new Date(now.getTime() + 14 * 86_400_000),
      workflow_id: workflowIdFor(id),
      workflow_started_at: null,
      idempotency_key: null,
      request_hash: null,
      created_at: new Date(now.getTime() - 120_000),
      updated_at: now,
      decided_at: null,
    });
    await insertToken(stack.db, { invitationId: id, generation: 0, keyId: stack.deps.tokenKeys.signing.id, tokenHash: hashToken(tokenFor(stack.deps.tokenKeys.signing.secret, id, 0)) });

    expect(await startUnstartedInvitations(stack.deps)).toBe(1);
    const email = await stack.mail.waitFor(sentTo('crash@example.com'));
    expect(email.acceptLink).toContain(tokenFor(stack.deps.tokenKeys.signing.secret, id, 0));
    expect((await findInvitationById(stack.db, id))?.workflow_started_at).not.toBeNull();
    expect(await startUnstartedInvitations(stack.deps)).toBe(0);
  });
});
