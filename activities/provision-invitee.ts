import type { Db } from '../src/db/connect';
import type { Invitation, User } from '../src/db/database';
import { setInviteeUser, setInviteeUsers } from '../src/db/invitations';
import { upsertUser, upsertUsers } from '../src/db/users';
import { canonicalEmail } from '../src/lib/email-address';
import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';

export async function provisionUserFor(db: Db, invitation: Invitation): Promise<User> {
  const user = await upsertUser(db, {
    tenantId: invitation.tenant_id,
    email: invitation.email,
    firstName: invitation.first_name,
    lastName: invitation.last_name,
  });
  // The same statement marks the row started (setInviteeUser), so a row not yet marked is written either way.
  if (invitation.invitee_user_id !== user.id || !invitation.workflow_started_at) {
    await setInviteeUser(db, invitation.id, user.id);
  }
  return user;
}

/** provisionUserFor for several invitations of one tenant, in two statements (a bulk chunk's). */
export async function provisionUsersFor(db: Db, tenantId: string, invitations: Invitation[]): Promise<void> {
  const users = await upsertUsers(
    db,
    tenantId,
    invitations.map((i) => ({ email: i.email, firstName: i.first_name, lastName: i.last_name })),
  );
  const byAddress = new Map(users.map((user) => [user.email_canonical, user.id]));
  await setInviteeUsers(
    db,
    invitations.flatMap((i) => {
      const userId = byAddress.get(canonicalEmail(i.email))!;
      return i.invitee_user_id === userId ? [] : [{ invitationId: i.id, userId }];
    }),
  );
}

/** Find or create the invitee's user record; an upsert, so a retry is harmless. */
export function provisionInviteeActivity({ db }: ActivityDeps) {
  return async function provisionInvitee({ invitationId }: { invitationId: string }, loaded?: InvitationContext): Promise<void> {
    const { invitation } = loaded ?? (await loadInvitationContext(db, invitationId));
    await provisionUserFor(db, invitation);
  };
}
