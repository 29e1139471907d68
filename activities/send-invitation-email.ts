import { displayName, inviterDisplayName } from '../src/lib/names';
import { countReminderSent, recordNextReminder } from '../src/db/invitations';
import { type InvitationContext, loadInvitationContext } from './load';
import { formatDate, renderEmail } from '../src/email/templates';
import { tokenKeyOf } from '../src/db/tokens';
import { invitationLink, linkToken } from '../src/invitations/tokens';
import type { Db } from '../src/db/connect';
import type { ActivityDeps } from './deps';
import { type SendOnceInput, sendOnce } from './send-once';

export interface SendInvitationEmailInput {
  invitationId: string;
  generation: number;
  kind: 'invitation' | 'reminder';
  sendKey: string;
  /** Workflow time this send was due: reminders are audited against their schedule. */
  dueAt: number;
  /**
   * The workflow's next reminder once this email is out, decided for this link and the expiry `expiresAt`: kept on
   * the invitation's row for readers, unless a resend or an edit changed either meanwhile.
   */
  next?: { reminderAt: number | null; expiresAt: number };
}

/**
 * Renders and sends the invitation (or a reminder) with the link of the given token generation. The token is
 * derived here from the secret, so it never passes through the workflow.
 */
export function sendInvitationEmailActivity(deps: ActivityDeps) {
  return async function sendInvitationEmail(input: SendInvitationEmailInput, loaded?: InvitationContext): Promise<'sent' | 'already-sent' | 'skipped'> {
    return sendInvitation(deps, input, loaded ?? (await loadInvitationContext(deps.db, input.invitationId)));
  };
}

export async function sendInvitation(deps: ActivityDeps, input: SendInvitationEmailInput, context: InvitationContext): Promise<'sent' | 'already-sent' | 'skipped'> {
  // A reminder racing a decision must not reach someone who already answered.
  if (context.invitation.status !== 'pending') return 'skipped';
  const keyId = await tokenKeyOf(deps.db, context.invitation.id, input.generation);
  return sendOnce(deps, invitationEmail(deps, input, context, keyId));
}

/** The email of one send: the link of the given generation, derived with the ring key `keyId` that made its token. */
export function invitationEmail(deps: ActivityDeps, input: SendInvitationEmailInput, { invitation, tenant, role, inviter }: InvitationContext, keyId: string | null): SendOnceInput {
  const link = invitationLink(deps.publicBaseUrl, invitation, linkToken(deps.tokenKeys, keyId, invitation.id, input.generation));
  return {
    invitation,
    sendKey: input.sendKey,
    kind: input.kind,
    to: invitation.email,
    auditData: { dueAt: new Date(input.dueAt).toISOString(), generation: input.generation },
    render: () =>
      renderEmail(deps.templates, input.kind, {
        language: invitation.language,
        inviterName: inviterDisplayName(invitation, inviter),
        inviteeName: displayName(invitation),
        inviteeEmail: invitation.email,
        tenantName: tenant.name,
        roleName: role.name,
        expiresOn: formatDate(invitation.expires_at, invitation.language),
        message: invitation.message,
        acceptUrl: link,
        headerText: invitation.header_text,
        footerText: invitation.footer_text,
      }),
    // Only where there is bookkeeping: without it the send is recorded in one statement, not a transaction.
    afterSent:
      input.kind === 'reminder' || input.next
        ? async (tx: Db) => {
            if (input.kind === 'reminder') await countReminderSent(tx, invitation.id, deps.clock());
            if (input.next) await recordNextReminder(tx, invitation.id, { ...input.next, generation: input.generation });
          }
        : undefined,
  };
}
