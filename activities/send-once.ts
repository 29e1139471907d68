import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../src/db/connect';
import type { Invitation } from '../src/db/database';
import { recordAudit } from '../src/db/audit';
import { claimSend, markSent } from '../src/db/email-messages';
import type { RenderedEmail } from '../src/email/templates';
import { FailureType } from '../workflows/messages';
import type { ActivityDeps } from './deps';

export interface SendOnceInput {
  invitation: Invitation;
  sendKey: string;
  kind: string;
  to: string;
  render: () => RenderedEmail;
  /** Bookkeeping that must happen exactly once per delivered email, in the transaction that records it. */
  afterSent?: (tx: Db) => Promise<void>;
  auditData?: Record<string, unknown>;
}

/**
 * The email ledger makes a send idempotent: one row per (invitation, send key) with a fixed Message-ID. A retry
 * after the row says `sent` sends nothing. A crash between the SMTP accept and that row (the only window) resends the
 * identical message, same Message-ID and same link, which mail systems collapse into one.
 */
export async function sendOnce({ db, mailer, clock }: ActivityDeps, input: SendOnceInput): Promise<'sent' | 'already-sent'> {
  const domain = 'usher.invalid';
  const entry = await claimSend(db, {
    invitationId: input.invitation.id,
    sendKey: input.sendKey,
    kind: input.kind,
    recipient: input.to,
    messageId: `<${input.invitation.id}.${input.sendKey}@${domain}>`,
  });
  if (entry.status === 'sent') return 'already-sent';

  let response: string;
  try {
    ({ response } = await mailer.send({ ...input.render(), to: input.to, messageId: entry.messageId }));
  } catch (err) {
    const smtp = err as { responseCode?: number; code?: string; message?: string };
    if (smtp.code === 'EENVELOPE' && (smtp.responseCode ?? 0) >= 500) {
      throw ApplicationFailure.nonRetryable(`the mail server refused ${input.to}: ${smtp.responseCode}`, FailureType.EmailRejected);
    }
    throw err;
  }

  await db.transaction().execute(async (tx) => {
    if (!(await markSent(tx, entry.id, response, clock()))) return;
    await input.afterSent?.(tx);
    await recordAudit(tx, {
      tenantId: input.invitation.tenant_id,
      invitationId: input.invitation.id,
      actor: 'system',
      action: `email.${input.kind}.sent`,
      data: { to: input.to, sendKey: input.sendKey, ...input.auditData },
    });
  });
  return 'sent';
}
