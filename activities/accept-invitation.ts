import { findInvitationById } from '../src/db/invitations';
import type { ActivityDeps } from './deps';
import type { FinishInput } from './finish-invitation';
import { contextOf, type InvitationContext } from './load';

export interface AcceptInvitationInput {
  invitationId: string;
  /** The signed-in account that accepted, when the product named one. */
  acceptanceId?: string;
  /** Workflow time of the decision. */
  at: number;
}

interface AcceptSteps {
  validateInviter(input: { invitationId: string }, loaded?: InvitationContext): Promise<void>;
  grantRole(input: { invitationId: string; acceptanceId?: string }, loaded?: InvitationContext): Promise<void>;
  finishInvitation(input: FinishInput): Promise<{ redirectUrl: string | null }>;
}

/**
 * An accept's steps as one activity: may the inviter still grant the role, grant it, settle the invitation as
 * accepted (one activity instead of three: six history events and two workflow tasks fewer). A retry after a lost
 * acknowledgement finds the invitation accepted and only answers again: the inviter's rights are not judged a second
 * time after the grant went through. The check and the grant share one reading of the invitation's context: the role
 * granted is the role whose rank was checked.
 */
export function acceptInvitationActivity({ db }: Pick<ActivityDeps, 'db'>, { validateInviter, grantRole, finishInvitation }: AcceptSteps) {
  return async function acceptInvitation(input: AcceptInvitationInput): Promise<{ redirectUrl: string | null }> {
    const { invitationId, acceptanceId, at } = input;
    const invitation = await findInvitationById(db, invitationId);
    if (invitation?.status !== 'accepted') {
      // A missing row is refused for good by the step's own reading.
      const context = invitation ? await contextOf(db, invitation) : undefined;
      await validateInviter({ invitationId }, context);
      await grantRole(acceptanceId ? { invitationId, acceptanceId } : { invitationId }, context);
    }
    return finishInvitation({ invitationId, status: 'accepted', actor: 'invitee', reason: null, at });
  };
}
