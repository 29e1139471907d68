import { Context } from '@temporalio/activity';
import type { Invitation, Role, Tenant, User } from '../src/db/database';
import { findUserById } from '../src/db/users';
import { classifySendFailure } from '../src/email/mailer';
import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';
import { provisionUsersFor } from './provision-invitee';
import { type SendInvitationEmailInput, invitationEmail } from './send-invitation-email';
import { sendEachOnce, whileHeartbeating } from './send-once';

export interface OpenInvitationInput {
  invitationId: string;
  sendEmail: boolean;
  /** Workflow time the invitation was created: its email is due then. */
  dueAt: number;
}

interface OpeningSteps {
  validateInviter(input: { invitationId: string }, loaded?: InvitationContext): Promise<void>;
  provisionInvitee(input: { invitationId: string }, loaded?: InvitationContext): Promise<void>;
  sendInvitationEmail(input: SendInvitationEmailInput, loaded?: InvitationContext): Promise<'sent' | 'already-sent' | 'skipped'>;
}

/**
 * An invitation's opening steps as one activity: may the inviter invite, find or create the invitee, send the
 * invitation email. One activity instead of three is six history events and two workflow tasks fewer per invitation
 * (docs/benchmark.md). Each step is idempotent on its own, so a retry repeats only what did not finish; a refusal
 * (the inviter may not invite, the mail server refused the address) is final as it was step by step. The invitation's
 * context (the row, its tenant, role and inviter) is read once for the three: none of them changes what the next reads.
 */
export function openInvitationActivity({ db }: Pick<ActivityDeps, 'db'>, { validateInviter, provisionInvitee, sendInvitationEmail }: OpeningSteps) {
  /** What became of the email, as sendInvitationEmail says it; `no-email` for a link-only invitation. */
  return async function openInvitation(input: OpenInvitationInput): Promise<'sent' | 'already-sent' | 'skipped' | 'no-email'> {
    // Alive from the first step: the attempt has a heartbeat timeout (a dead worker's send is retried soon), and under
    // load the database steps before the send can take a while.
    return whileHeartbeating(async () => {
      const context = await loadInvitationContext(db, input.invitationId);
      await validateInviter({ invitationId: input.invitationId }, context);
      await provisionInvitee({ invitationId: input.invitationId }, context);
      if (!input.sendEmail) return 'no-email';
      return sendInvitationEmail({ invitationId: input.invitationId, generation: 0, kind: 'invitation', sendKey: 'invitation-0', dueAt: input.dueAt }, context);
    });
  };
}

/**
 * The opening steps of a bulk chunk's invitations, done by the chunk just before it starts their workflows, so that
 * an upload's emails do not queue behind thousands of activity tasks (docs/benchmark.md). The chunk has just checked
 * the inviter with fresh reads (checkCreate), so what is left is to provision the invitees and send the invitations,
 * a group of rows at once: each step is a statement or two for the whole group, and the emails go out side by side.
 * A row that fails here is not opened, and neither is any row of a group begun after a send failed (the mail server
 * may be down): those are handed to their workflows, which open them as every other invitation, with retries,
 * bounces and the audit log. A row an earlier attempt of the chunk opened sends nothing twice (the email ledger).
 */
export function chunkOpener(deps: ActivityDeps): ChunkOpener {
  let emailsSent = 0;
  let sendFailed = false;
  let warned = false;
  const inviters = new Map<string, Promise<User | undefined>>();
  const inviterOf = (invitation: Invitation) => {
    const id = invitation.inviter_user_id;
    if (!inviters.has(id)) inviters.set(id, findUserById(deps.db, invitation.tenant_id, id));
    return inviters.get(id)!;
  };
  const handOver = (err: unknown) => {
    if (warned) return;
    warned = true;
    const why = classifySendFailure(err);
    Context.current().log.warn('a bulk chunk leaves invitations to be opened by their workflows', {
      error: why.kind === 'refused' ? `refused at ${why.stage}` : why.description,
    });
  };
  return {
    async open(rows, tenant) {
      const opened = rows.map(() => false);
      try {
        const withInviter = await Promise.all(rows.map(async (row) => ({ ...row, inviter: await inviterOf(row.invitation) })));
        const ready = withInviter.flatMap((row, i) => (row.inviter ? [{ ...row, inviter: row.inviter, i }] : []));
        if (ready.length === 0) return opened;
        await provisionUsersFor(deps.db, tenant.id, ready.map((row) => row.invitation));
        const mailing = sendFailed ? [] : ready.filter((row) => row.invitation.send_email);
        for (const row of ready) if (!row.invitation.send_email) opened[row.i] = true;
        const outcomes = await sendEachOnce(
          deps,
          mailing.map(({ invitation, role, inviter, keyId }) =>
            invitationEmail(
              deps,
              { invitationId: invitation.id, generation: 0, kind: 'invitation', sendKey: 'invitation-0', dueAt: invitation.created_at.getTime() },
              { invitation, tenant, role, inviter },
              keyId,
            ),
          ),
        );
        for (const [k, outcome] of outcomes.entries()) {
          if (typeof outcome === 'object') {
            sendFailed = true;
            handOver(outcome.failed);
            continue;
          }
          if (outcome === 'sent') emailsSent++;
          opened[mailing[k]!.i] = true;
        }
      } catch (err) {
        handOver(err);
        return rows.map(() => false);
      }
      return opened;
    },
    emailsSent: () => emailsSent,
  };
}

export interface ChunkOpener {
  /**
   * Which of these invitations are opened (in order): their workflows start with `opened`; the others open there.
   * `keyId`: the ring key of the invitation's first token. Never throws.
   */
  open(rows: { invitation: Invitation; role: Role; keyId: string | null }[], tenant: Tenant): Promise<boolean[]>;
  /** Invitation emails that went out (not those an earlier attempt had sent). */
  emailsSent(): number;
}
