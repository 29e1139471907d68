import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';
import type { SendInvitationEmailInput } from './send-invitation-email';
import { whileHeartbeating } from './send-once';

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
