import { ApplicationFailure } from '@temporalio/activity';
import { markWorkflowStarted } from '../src/db/invitations';
import { findMembershipRank } from '../src/db/memberships';
import { judgeInviter } from '../src/invitations/policy';
import { FailureType } from '../workflows/messages';
import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';

/**
 * Checked at the start and again at accept: an inviter can lose the right in between. `loaded`: the context a merged
 * activity read for all its steps (an activity's own input never carries it).
 */
export function validateInviterActivity({ db }: ActivityDeps) {
  return async function validateInviter({ invitationId }: { invitationId: string }, loaded?: InvitationContext): Promise<void> {
    const { invitation, tenant, role } = loaded ?? (await loadInvitationContext(db, invitationId));
    // The tenant as this attempt read it, a moment ago; the inviter's membership as it is now.
    const verdict = judgeInviter(tenant, await findMembershipRank(db, invitation.tenant_id, invitation.inviter_user_id), role.rank);
    // The workflow is running: the reconciler need not start it (see src/invitations/reconcile.ts). In a merged
    // activity the invitee's provisioning, next, marks it in the same statement (provisionUserFor), unless refused here.
    if (!invitation.workflow_started_at && (!loaded || !verdict.ok)) await markWorkflowStarted(db, invitationId);
    if (!verdict.ok) {
      const type = verdict.reason === 'invitations-disabled' ? FailureType.InvitationsDisabled : FailureType.InviterNotAllowed;
      throw ApplicationFailure.nonRetryable(verdict.message, type);
    }
  };
}
