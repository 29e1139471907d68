import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createInvitation } from '../../src/invitations/create-invitation';
import { revokeInvitation } from '../../src/invitations/manage';
import { sentTo } from '../support/mail';
import { createTestTenant, type TestTenant } from '../support/tenants';
import { invitationHandle, memberInvitation, startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping';

/**
 * What an operator sees of an invitation in the Temporal UI: a summary and details fixed at the start (ids, role,
 * origin; never the address), a summary on each activity, and current details the workflow keeps up to date.
 */
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

const handleOf = (id: string) => invitationHandle(stack, id);
const text = (payload: temporal.api.common.v1.IPayload | null | undefined): string | undefined =>
  payload ? (defaultPayloadConverter.fromPayload(payload) as string) : undefined;
const currentDetails = async (id: string): Promise<string> =>
  ((await handleOf(id).query<temporal.api.sdk.v1.IWorkflowMetadata>('__temporal_workflow_metadata')).currentDetails ?? '') as string;
async function activitySummaries(id: string): Promise<string[]> {
  const history = await handleOf(id).fetchHistory();
  // Activities on the task queue, and a decision's local activities (recorded as markers).
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .map((e) => text(e.userMetadata?.summary) ?? '(none)');
}

describe('the Temporal UI', () => {
  it('shows what an invitation is, how far it is and what each step was, without the address', async () => {
    const { invitation } = await createInvitation(stack.deps, memberInvitation(tenant, 'operator-view@example.com', { origin: 'sap', role: { slug: 'admin' } }));
    await stack.mail.waitFor(sentTo('operator-view@example.com'));

    const description = await handleOf(invitation.id).describe();
    const summary = await description.staticSummary();
    const details = await description.staticDetails();
    expect(summary).toBe(`Invitation ${invitation.id} · admin · via sap`);
    expect(details).toContain(`**Tenant** ${tenant.id}`);
    expect(details).toContain('reminders at 2, 5, 10 of 14 days');
    for (const shown of [summary, details]) expect(shown).not.toContain('@');

    await stack.env.sleep('3 days');
    const now = await currentDetails(invitation.id);
    expect(now).toMatch(/^\*\*pending\*\*/);
    expect(now).toMatch(/Next: reminder 2 of 3 at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(now).toContain(`Expires: ${invitation.expires_at.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
    expect(now).toContain('Reminders sent: 1');

    await revokeInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', reason: 'wrong person' });
    await handleOf(invitation.id).result();
    expect(await currentDetails(invitation.id)).toMatch(/^\*\*revoked\*\*\nReason: wrong person/);
    expect(await activitySummaries(invitation.id)).toEqual([
      'check the inviter, find or create the invitee, send the invitation',
      'reminder 1 of 3',
      'settle: revoked',
    ]);
  });
});
