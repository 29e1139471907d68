import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { findInvitationById } from '../../src/db/invitations';
import { UsherError } from '../../src/lib/errors';
import { createInvitation } from '../../src/invitations/create-invitation';
import { acceptByToken, declineByToken } from '../../src/invitations/invitee-actions';
import { resendInvitation, revokeInvitation } from '../../src/invitations/manage';
import { stateQuery, workflowIdFor } from '../../workflows/messages';
import { sentTo } from '../support/mail';
import { createTestTenant, type TestTenant } from '../support/tenants';
import { invitationHandle, memberInvitation, startTimeSkippingStack, type TimeSkippingStack, tokenOf } from '../support/time-skipping';

/**
 * Decisions on one invitation take turns: one that arrives while another is in flight waits for it and is refused
 * only if the first made it impossible. A gate holds an activity of the first decision open for as long as a test
 * needs it in flight.
 */
let gate: { activity: string; entered: () => void; open: Promise<void> } | undefined;
function holdNext(activity: string): { entered: Promise<void>; release: () => void } {
  let release!: () => void;
  let entered!: () => void;
  const open = new Promise<void>((r) => (release = r));
  const enteredPromise = new Promise<void>((r) => (entered = r));
  gate = { activity, entered, open };
  return { entered: enteredPromise, release };
}
async function passGate(activity: string): Promise<void> {
  if (gate?.activity !== activity) return;
  const { entered, open } = gate;
  gate = undefined;
  entered();
  await open;
}

let stack: TimeSkippingStack;
let tenant: TestTenant;
beforeAll(async () => {
  stack = await startTimeSkippingStack({
    wrap: (activities) => ({
      ...activities,
      async rotateToken(input) {
        await passGate('rotateToken');
        return activities.rotateToken(input);
      },
      async grantRole(input) {
        await passGate('grantRole');
        return activities.grantRole(input);
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

const invite = (email: string) => createInvitation(stack.deps, memberInvitation(tenant, email));
const handleOf = (id: string) => invitationHandle(stack, id);
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: unknown) => (err instanceof UsherError ? err.code : String(err)),
  );
/** True if the promise is still pending after a moment. */
const stillWaiting = async (promise: Promise<unknown>) =>
  Promise.race([promise.then(() => false, () => false), new Promise<boolean>((r) => setTimeout(() => r(true), 500))]);

describe('decisions take turns', () => {
  it('ten concurrent resends all succeed, one after the other, and the last link is the one that works', async () => {
    const { invitation } = await invite('ten-resends@example.com');
    await stack.mail.waitFor(sentTo('ten-resends@example.com'));
    const results = await Promise.all(
      Array.from({ length: 10 }, () => codeOf(resendInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test' }))),
    );
    expect(results).toEqual(Array(10).fill('ok'));
    const state = await handleOf(invitation.id).query(stateQuery);
    expect(state).toMatchObject({ status: 'pending', tokenGeneration: 10 });
    expect((await findInvitationById(stack.db, invitation.id))?.token_generation).toBe(10);
    // The resend emails go out after their decisions; the newest link is in the last one, and it accepts.
    const newest = await stack.mail.waitFor((m) => sentTo('ten-resends@example.com')(m) && m.messageId?.includes('invitation-10') === true);
    await acceptByToken(stack.deps, tokenOf(newest.acceptLink));
    expect((await handleOf(invitation.id).result()).status).toBe('accepted');
  });

  it('twenty concurrent accepts of one link: one wins, the rest are refused, the role is granted once', async () => {
    const { invitation } = await invite('twenty-accepts@example.com');
    const email = await stack.mail.waitFor(sentTo('twenty-accepts@example.com'));
    const answers = await Promise.all(Array.from({ length: 20 }, () => codeOf(acceptByToken(stack.deps, tokenOf(email.acceptLink)))));
    expect(answers.filter((a) => a === 'ok')).toHaveLength(1);
    // The nineteen waited their turn behind the winner, then found the link used: refused by the database at once,
    // as a later click is, not one workflow task after another.
    expect(answers.filter((a) => a !== 'ok')).toEqual(Array(19).fill('token-gone'));
    expect((await handleOf(invitation.id).result()).status).toBe('accepted');
    const grants = await stack.db.selectFrom('audit_events').select('action').where('invitation_id', '=', invitation.id).where('action', '=', 'role.granted').execute();
    expect(grants).toHaveLength(1);
  });

  it('a revoke that arrives during a resend waits its turn, then revokes', async () => {
    const { invitation } = await invite('revoke-after-resend@example.com');
    await stack.mail.waitFor(sentTo('revoke-after-resend@example.com'));
    const held = holdNext('rotateToken');
    const resend = codeOf(resendInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test' }));
    await held.entered;
    const revoke = codeOf(revokeInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test', reason: 'sent by mistake' }));
    expect(await stillWaiting(revoke)).toBe(true);
    held.release();
    expect(await resend).toBe('ok');
    expect(await revoke).toBe('ok');
    expect((await handleOf(invitation.id).result()).status).toBe('revoked');
  });

  it('a revoke that arrives during an accept waits, then is refused: the accept made it impossible', async () => {
    const { invitation } = await invite('revoke-during-accept@example.com');
    const email = await stack.mail.waitFor(sentTo('revoke-during-accept@example.com'));
    const held = holdNext('grantRole');
    const accept = codeOf(acceptByToken(stack.deps, tokenOf(email.acceptLink)));
    await held.entered;
    const revoke = codeOf(revokeInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test' }));
    expect(await stillWaiting(revoke)).toBe(true);
    held.release();
    expect(await accept).toBe('ok');
    expect(await revoke).toBe('invitation-not-pending');
    expect((await handleOf(invitation.id).result()).status).toBe('accepted');
  });

  it('an accept waiting behind a resend is refused when the resend replaced its link', async () => {
    const { invitation } = await invite('accept-old-link@example.com');
    const email = await stack.mail.waitFor(sentTo('accept-old-link@example.com'));
    const held = holdNext('rotateToken');
    const resend = codeOf(resendInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test' }));
    await held.entered;
    const accept = codeOf(acceptByToken(stack.deps, tokenOf(email.acceptLink)));
    expect(await stillWaiting(accept)).toBe(true);
    held.release();
    expect(await resend).toBe('ok');
    expect(await accept).toBe('token-gone');
    expect((await handleOf(invitation.id).query(stateQuery)).status).toBe('pending');
  });

  it('a decision stuck behind one that does not finish is answered 503 within its deadline, and changes nothing', async () => {
    const { invitation } = await invite('busy@example.com');
    const email = await stack.mail.waitFor(sentTo('busy@example.com'));
    const held = holdNext('rotateToken');
    const resend = codeOf(resendInvitation(stack.deps, { tenantId: tenant.id, id: invitation.id, actor: 'test' }));
    try {
      await held.entered;
      const started = Date.now();
      const error = await declineByToken(stack.deps, tokenOf(email.acceptLink)).catch((e: unknown) => e);
      // The workflow gives the queued decline up when its caller's deadline comes (busy, try again in a second), so
      // the 503 is true: it never happens.
      expect(error).toMatchObject({ code: 'unavailable', extra: { retryAfter: 1 } });
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      held.release();
    }
    // The resend itself outlived its own deadline (503, "may still take effect"), and did take effect.
    expect(['ok', 'unavailable']).toContain(await resend);
    await stack.env.sleep('1 minute');
    expect(await handleOf(invitation.id).query(stateQuery)).toMatchObject({ status: 'pending', tokenGeneration: 1 });
    expect((await findInvitationById(stack.db, invitation.id))?.status).toBe('pending');
  }, 120_000);

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
