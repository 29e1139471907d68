import { expect } from 'vitest';
import { canonicalEmail } from '../../src/lib/email-address';
import type { Stack } from './stack';

/**
 * Waits until every email Usher has begun sending to this address is recorded as sent and none of the address's
 * invitation workflows has an activity in flight. A send is recorded only after the SMTP server accepted it, so from
 * then on the mailbox holds every message there will be: counting it then proves "exactly one" without a fixed sleep.
 */
export async function untilSendsSettled(stack: Stack, address: string, timeout = 30_000): Promise<void> {
  const invitations = await stack.db
    .selectFrom('invitations')
    .select(['id', 'workflow_id'])
    .where('tenant_id', '=', stack.tenant.id)
    .where('email_canonical', '=', canonicalEmail(address))
    .execute();
  await expect
    .poll(
      async () => {
        if (invitations.length === 0) return true;
        const unsent = await stack.db
          .selectFrom('email_messages')
          .select('id')
          .where('invitation_id', 'in', invitations.map((i) => i.id))
          .where('status', '!=', 'sent')
          .execute();
        if (unsent.length > 0) return false;
        for (const { workflow_id } of invitations) {
          const { raw } = await stack.client.workflow.getHandle(workflow_id).describe();
          if ((raw.pendingActivities?.length ?? 0) > 0) return false;
        }
        return true;
      },
      { timeout, interval: 100 },
    )
    .toBe(true);
}

/**
 * For "nothing happened": the check holds on every look for `ms`, and fails at the first look where it does not.
 * There is no event for an absence, so this polls a fixed window rather than sleeping through it blind.
 */
export async function expectStaysTrue(check: () => Promise<boolean> | boolean, ms = 300, interval = 50): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    expect(await check()).toBe(true);
    if (Date.now() >= deadline) return;
    await new Promise((r) => setTimeout(r, interval));
  }
}
