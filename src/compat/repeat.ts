import type { Invitation } from '../db/database';
import { findInvitation } from '../db/invitations';
import { findMembershipRank } from '../db/memberships';
import { tokenKeyOf } from '../db/tokens';
import { type CreatedInvitation, type CreateInvitationCommand, createInvitation } from '../invitations/create-invitation';
import type { InvitationDeps } from '../invitations/deps';
import { resendInvitation } from '../invitations/manage';
import { invitationLink, linkToken } from '../invitations/tokens';
import { UsherError } from '../lib/errors';

export interface Invited extends CreatedInvitation {
  /**
   * `created`: a new invitation; `resent`: the invitee's open one, sent again with a fresh link; `unchanged`: the open
   * one, left as it was because its resend limits (cooldown, caps) say not yet.
   */
  outcome: 'created' | 'resent' | 'unchanged';
}

/**
 * createInvitation for a seed API, where calling again for someone whose invitation is still open succeeds as the
 * first call did: that same invitation is sent again with a fresh link. Integrations retry after a timeout and
 * re-invite people who lost the email; the originals answered those calls with success, so refusing them breaks the
 * integration. No second invitation is ever opened, and the resend limits still hold: inside them the call succeeds
 * without sending anything.
 */
export async function inviteOrResend(deps: InvitationDeps, cmd: CreateInvitationCommand): Promise<Invited> {
  try {
    return { ...(await createInvitation(deps, cmd)), outcome: 'created' };
  } catch (err) {
    const openId = err instanceof UsherError && err.code === 'open-invitation-exists' ? err.extra.invitationId : undefined;
    if (typeof openId !== 'string') throw err;
    return resendOpen(deps, cmd, openId);
  }
}

async function resendOpen(deps: InvitationDeps, cmd: CreateInvitationCommand, id: string): Promise<Invited> {
  // createInvitation judged the caller able to grant the role asked for; the open invitation may grant a higher one,
  // and a fresh link to it is as good as making it. So the caller's own rank is the ceiling.
  const ceiling = await findMembershipRank(deps.db, cmd.tenantId, cmd.inviterUserId);
  try {
    const { acceptUrl } = await resendInvitation(deps, { tenantId: cmd.tenantId, id, actor: cmd.actor, maxRank: ceiling });
    return { invitation: await openInvitation(deps, cmd.tenantId, id), acceptUrl, replayed: false, outcome: 'resent' };
  } catch (err) {
    if (!(err instanceof UsherError)) throw err;
    // Accepted, declined or expired since createInvitation looked: judge the call afresh, once.
    if (err.code === 'invitation-not-pending' || err.code === 'not-found') return { ...(await createInvitation(deps, cmd)), outcome: 'created' };
    if (err.code !== 'rate-limited') throw err;
    deps.log.info('seed call repeated inside the resend limits: nothing sent again', { invitationId: id, tenantId: cmd.tenantId, origin: cmd.origin });
    const invitation = await openInvitation(deps, cmd.tenantId, id);
    return { invitation, acceptUrl: await currentLink(deps, invitation), replayed: false, outcome: 'unchanged' };
  }
}

async function openInvitation(deps: InvitationDeps, tenantId: string, id: string): Promise<Invitation> {
  const invitation = await findInvitation(deps.db, tenantId, id);
  if (!invitation) throw new UsherError('not-found', 'the invitation was deleted while it was being sent again');
  return invitation;
}

/** A link-only invitation's link as it stands (the caller delivers it); null for one Usher emails. */
async function currentLink(deps: InvitationDeps, invitation: Invitation): Promise<string | null> {
  if (invitation.send_email) return null;
  const generation = invitation.token_generation;
  const keyId = await tokenKeyOf(deps.db, invitation.id, generation);
  return invitationLink(deps.publicBaseUrl, invitation, linkToken(deps.tokenKeys, keyId, invitation.id, generation));
}
