import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../src/db/connect';
import type { Invitation, Role, Tenant, User } from '../src/db/database';
import { findInvitationById } from '../src/db/invitations';
import { findRoleById } from '../src/db/roles';
import { findTenant } from '../src/db/tenants';
import { findUserById } from '../src/db/users';
import { FailureType } from '../workflows/messages';

export interface InvitationContext {
  invitation: Invitation;
  tenant: Tenant;
  role: Role;
  inviter: User;
}

/**
 * An invitation whose row is gone (the API rolled back after a failed start) can never proceed: refuse for good
 * rather than retry.
 */
export async function loadInvitationContext(db: Db, invitationId: string): Promise<InvitationContext> {
  const invitation = await findInvitationById(db, invitationId);
  if (!invitation) throw ApplicationFailure.nonRetryable(`invitation ${invitationId} does not exist`, FailureType.InvitationMissing);
  return contextOf(db, invitation);
}

/** The rest of an invitation's context, for a row already read. */
export async function contextOf(db: Db, invitation: Invitation): Promise<InvitationContext> {
  const invitationId = invitation.id;
  const [tenant, role, inviter] = await Promise.all([
    findTenant(db, invitation.tenant_id),
    findRoleById(db, invitation.tenant_id, invitation.role_id),
    findUserById(db, invitation.tenant_id, invitation.inviter_user_id),
  ]);
  if (!tenant || !role || !inviter) {
    throw ApplicationFailure.nonRetryable(`invitation ${invitationId} refers to a deleted tenant, role or inviter`, FailureType.InvitationMissing);
  }
  return { invitation, tenant, role, inviter };
}
