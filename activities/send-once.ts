import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/connect';
import type { Invitation } from '../src/db/database';
import { type AuditInput, recordAudit } from '../src/db/audit';
import { claimSend, claimSends, markSent } from '../src/db/email-messages';
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
  /** Bookkeeping that must happen exactly once per delivered email, in the transaction that records it. Absent: none. */
  afterSent?: (tx: Db) => Promise<void>;
  auditData?: Record<string, unknown>;
}

/**
 * The email ledger makes a send idempotent: one row per (invitation, send key) with a fixed Message-ID. A retry
 * after the row says `sent` sends nothing. A crash between the SMTP accept and that row (the only window) resends the
 * identical message, same Message-ID and same link, which mail systems collapse into one.
 */
export async function sendOnce(deps: ActivityDeps, input: SendOnceInput): Promise<'sent' | 'already-sent'> {
  const { db, mailer } = deps;
  const entry = await claimSend(db, { ...ledgerKey(input), recipient: input.to });
  if (entry.status === 'sent') return 'already-sent';

  let response: string;
  const signal = Context.current().cancellationSignal;
  try {
    ({ response } = await whileHeartbeating(() => mailer.send({ ...input.render(), to: input.to, messageId: entry.messageId }, { signal })));
  } catch (err) {
    // An attempt given up is not the mail server's verdict: nothing to judge or to record.
    if (signal.aborted) throw err;
    throw await finalOrRetry(deps, input, err);
  }

  await recordSent(deps, [{ id: entry.id, providerResponse: response, input }]);
  return 'sent';
}

/**
 * sendOnce for several emails at once, as a bulk chunk sends them: the ledger rows claimed in two statements, the
 * messages sent side by side, and what went out recorded in one transaction (for a hundred rows, a few statements
 * instead of eight each). Each input answers in order. A failed send is answered as it is, unjudged and recorded
 * nowhere: the invitation's workflow makes the attempt that counts. A crash after a send and before that transaction
 * resends the identical message on the retry, as with sendOnce, for each email sent since the claim.
 */
export async function sendEachOnce(deps: ActivityDeps, inputs: SendOnceInput[]): Promise<('sent' | 'already-sent' | { failed: unknown })[]> {
  const { db, mailer } = deps;
  const entries = await claimSends(db, inputs.map((input) => ({ ...ledgerKey(input), recipient: input.to })));
  type Outcome = { already: true } | { id: string; response: string } | { failed: unknown };
  const signal = Context.current().cancellationSignal;
  const outcomes = await whileHeartbeating(() =>
    Promise.all(
      inputs.map(async (input, i): Promise<Outcome> => {
        const entry = entries[i]!;
        if (entry.status === 'sent') return { already: true };
        try {
          const { response } = await mailer.send({ ...input.render(), to: input.to, messageId: entry.messageId }, { signal });
          return { id: entry.id, response };
        } catch (err) {
          return { failed: err };
        }
      }),
    ),
  );
  await recordSent(
    deps,
    outcomes.flatMap((o, i) => ('response' in o ? [{ id: o.id, providerResponse: o.response, input: inputs[i]! }] : [])),
  );
  return outcomes.map((o) => ('already' in o ? 'already-sent' : 'failed' in o ? { failed: o.failed } : 'sent'));
}

/**
 * What went out: the ledger rows moved to sent with their audit events (one statement), and for each row this call
 * moved (a retry that finds it sent already does nothing) its bookkeeping, so each happens once per delivered email.
 * In a transaction only where a send has bookkeeping; an invitation's first email has none.
 */
async function recordSent({ db, clock }: ActivityDeps, sent: { id: string; providerResponse: string; input: SendOnceInput }[]): Promise<void> {
  if (sent.length === 0) return;
  const record = async (tx: Db) => {
    const moved = await markSent(tx, sent.map((s) => ({ id: s.id, providerResponse: s.providerResponse, audit: sentAudit(s.input) })), clock());
    for (const s of sent) if (moved.has(s.id)) await s.input.afterSent?.(tx);
  };
  if (sent.some((s) => s.input.afterSent)) await db.transaction().execute(record);
  else await record(db);
}

const ledgerKey = (input: SendOnceInput) => ({
  invitationId: input.invitation.id,
  sendKey: input.sendKey,
  kind: input.kind,
  messageId: `<${input.invitation.id}.${input.sendKey}@usher.invalid>`,
});

const sentAudit = (input: SendOnceInput): AuditInput => ({
  tenantId: input.invitation.tenant_id,
  invitationId: input.invitation.id,
  actor: 'system',
  action: `email.${input.kind}.sent`,
  data: { to: input.to, sendKey: input.sendKey, ...input.auditData },
});

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
  // The first beat after 5 s, not at once: the SDK sends a first heartbeat to the server straight away, a write of the
  // workflow's state there, which an attempt done sooner never needs (its heartbeat timeout counts from its start).
  const timer = setInterval(() => context.heartbeat(), 5_000);
  try {
    return await run();
  } finally {
    clearInterval(timer);
  }
}
