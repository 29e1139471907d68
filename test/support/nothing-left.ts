import { expect } from 'vitest';
import { canonicalEmail } from '../../src/lib/email-address';
import { sentTo } from './mail';
import { expectStaysTrue } from './settled';
import type { Stack } from './stack';

export const invitationsFor = (stack: Stack, email: string) =>
  stack.db
    .selectFrom('invitations')
    .selectAll()
    .where('tenant_id', '=', stack.tenant.id)
    .where('email_canonical', '=', canonicalEmail(email))
    .orderBy('created_at')
    .execute();

/**
 * After a refusal: no invitation and no email for that address, even a moment later, no workflow without its row,
 * and (with `noUser`) no user record either.
 */
export async function expectNothingLeftFor(stack: Stack, email: string, options: { noUser?: boolean } = {}): Promise<void> {
  await expectStaysTrue(async () => (await invitationsFor(stack, email)).length === 0 && stack.mail.messages().filter(sentTo(email)).length === 0);
  expect(await invitationsFor(stack, email)).toEqual([]);
  expect(stack.mail.messages().filter(sentTo(email))).toEqual([]);
  if (options.noUser) {
    const users = await stack.db.selectFrom('users').select('id').where('tenant_id', '=', stack.tenant.id).where('email_canonical', '=', canonicalEmail(email)).execute();
    expect(users).toEqual([]);
  }
  const rows = Number((await stack.db.selectFrom('invitations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  await expect.poll(async () => (await stack.client.workflow.count(`TaskQueue="${stack.taskQueue}"`)).count, { timeout: 10_000, interval: 100 }).toBe(rows);
}
