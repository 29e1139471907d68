import type { Db } from '../src/db/connect';
import type { Invitation, User } from '../src/db/database';
import { setInviteeUser } from '../src/db/invitations';
import { upsertUser } from '../src/db/users';
import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';

export async function provisionUserFor(db: Db, invitation: Invitation): Promise<User> {
  const user = await upsertUser(db, {
    tenantId: invitation.tenant_id,
    email: invitation.email,
    firstName: invitation.first_name,
    lastName: invitation.last_name,
  });
  if (invitation.invitee_user_id !== user.id) {
    await setInviteeUser(db, invitation.id, user.id);
  }
  return user;
}

/** Find or create the invitee's user record; an upsert, so a retry is harmless. */
export function provisionInviteeActivity({ db }: ActivityDeps) {
  return async function provisionInvitee({ invitationId }: { invitationId: string }, loaded?: InvitationContext): Promise<void> {
    const { invitation } = loaded ?? (await loadInvitationContext(db, invitationId));
    await provisionUserFor(db, invitation);
  };
}
