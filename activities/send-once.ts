import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/connect';
import type { Invitation } from '../src/db/database';
import { recordAudit } from '../src/db/audit';
import { claimSend, markSent } from '../src/db/email-messages';
import { classifySendFailure } from '../src/email/mailer';
import type { RenderedEmail } from '../src/email/templates';
import { FailureType } from '../workflows/messages';
import { type ActivityDeps, DEFAULT_MAIL_RETRY_MS } from './deps';

export interface SendOnceInput {
  invitation: Invitation;
  sendKey: string;
  kind: string;
  to: string;
  render: () => RenderedEmail;
  /** Bookkeeping that must happen exactly once per delivered email, in the transaction that records it. */
  afterSent?: (tx: Db) => Promise<void>;
  auditData?: Record<string, unknown>;
  /** A failure is thrown as it is, unjudged and unrecorded: the invitation's workflow makes the attempt that counts. */
  handOver?: boolean;
}

/**
 * The email ledger makes a send idempotent: one row per (invitation, send key) with a fixed Message-ID. A retry
 * after the row says `sent` sends nothing. A crash between the SMTP accept and that row (the only window) resends the
 * identical message, same Message-ID and same link, which mail systems collapse into one.
 */
export async function sendOnce(deps: ActivityDeps, input: SendOnceInput): Promise<'sent' | 'already-sent'> {
  const { db, mailer, clock } = deps;
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
    ({ response } = await whileHeartbeating(() => mailer.send({ ...input.render(), to: input.to, messageId: entry.messageId })));
  } catch (err) {
    throw input.handOver ? err : await finalOrRetry(deps, input, err);
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

/**
 * A failed send is final when the server refused the message (a 5xx at MAIL FROM, RCPT TO, DATA or after the data:
 * `EmailRejected`, the invitation bounces) or when transient failures (4xx, timeouts, a refused login) have gone on
 * for the retry window since the send was first scheduled (`MailUndeliverable`, the invitation fails). Anything else
 * is thrown as it is, and Temporal retries it with backoff. Both final failures are written to the audit log.
 */
async function finalOrRetry(deps: ActivityDeps, input: SendOnceInput, err: unknown): Promise<unknown> {
  const failure = classifySendFailure(err);
  let final: ApplicationFailure | undefined;
  if (failure.kind === 'refused') {
    final = ApplicationFailure.nonRetryable(`the mail server refused ${input.to} at ${failure.stage}: ${failure.reply}`, FailureType.EmailRejected);
  } else {
    const windowMs = deps.mailRetryMs ?? DEFAULT_MAIL_RETRY_MS;
    const elapsedMs = retryingForMs();
    if (elapsedMs !== undefined && elapsedMs >= windowMs) {
      final = ApplicationFailure.nonRetryable(
        `mail undeliverable: ${failure.description} (retried for ${formatHours(elapsedMs)})`,
        FailureType.MailUndeliverable,
      );
    } else {
      Context.current().log.warn('send failed; it will be retried', { invitationId: input.invitation.id, kind: input.kind, error: failure.description });
      return err;
    }
  }
  await recordAudit(deps.db, {
    tenantId: input.invitation.tenant_id,
    invitationId: input.invitation.id,
    actor: 'system',
    action: `email.${input.kind}.failed`,
    data: { sendKey: input.sendKey, reason: final.message, final: final.type },
  });
  return final;
}

/** Time since the first attempt was scheduled, in the server's time (which a time-skipping test moves on). */
function retryingForMs(): number | undefined {
  const info = Context.current().info;
  if (!info.scheduledTimestampMs || !info.currentAttemptScheduledTimestampMs) return undefined;
  return Math.max(0, info.currentAttemptScheduledTimestampMs - info.scheduledTimestampMs);
}

function formatHours(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 1 ? `${Math.round(hours * 10) / 10} h` : `${Math.round(ms / 60_000)} min`;
}

/** Tells Temporal the attempt is alive while an SMTP conversation runs, so a dead worker's attempt is retried soon. */
export async function whileHeartbeating<T>(run: () => Promise<T>): Promise<T> {
  const context = Context.current();
  // A local activity (a reminder, the expiry, the last notice) lives inside a workflow task, which the worker keeps alive.
  if (context.info.isLocal) return run();
  const timer = setInterval(() => context.heartbeat(), 5_000);
  try {
    context.heartbeat();
    return await run();
  } finally {
    clearInterval(timer);
  }
}
