import { ApplicationFailure } from '@temporalio/activity';
import { markWorkflowStarted } from '../src/db/invitations';
import { checkInviter } from '../src/invitations/policy';
import { FailureType } from '../workflows/messages';
import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';

/**
 * Checked at the start and again at accept: an inviter can lose the right in between. `loaded`: the context a merged
 * activity read for all its steps (an activity's own input never carries it).
 */
export function validateInviterActivity({ db }: ActivityDeps) {
  return async function validateInviter({ invitationId }: { invitationId: string }, loaded?: InvitationContext): Promise<void> {
    const { invitation, role } = loaded ?? (await loadInvitationContext(db, invitationId));
    // The workflow is running: the reconciler need not start it (see src/invitations/reconcile.ts).
    if (!invitation.workflow_started_at) await markWorkflowStarted(db, invitationId);
    const verdict = await checkInviter(db, { tenantId: invitation.tenant_id, inviterUserId: invitation.inviter_user_id, roleRank: role.rank });
    if (!verdict.ok) {
      const type = verdict.reason === 'invitations-disabled' ? FailureType.InvitationsDisabled : FailureType.InviterNotAllowed;
      throw ApplicationFailure.nonRetryable(verdict.message, type);
    }
  };
}
