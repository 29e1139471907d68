import type { Invitation, Tenant } from '../db/database';
import { findInvitationById } from '../db/invitations';
import { insertAcceptance } from '../db/memberships';
import { findRoleById } from '../db/roles';
import { findTenant } from '../db/tenants';
import { findToken } from '../db/tokens';
import { findUserById } from '../db/users';
import { UsherError } from '../lib/errors';
import { newId } from '../lib/ids';
import { inviterDisplayName } from '../lib/names';
import { type AcceptingAccount, judgeAccount } from './accept-policy';
import type { InvitationDeps } from './deps';
import { redirectAllowed } from './policy';
import { hashToken, tokenPattern } from './tokens';

export interface InvitationForInvitee {
  invitation: Invitation;
  tenant: Tenant;
  inviterName: string;
  roleName: string;
  tokenGeneration: number;
}

/**
 * What a link holder may see. Unknown tokens are 404; tokens that were used, replaced, revoked or outlived their
 * invitation are 410. Reading never consumes the token: link scanners open links too.
 */
export async function lookupByToken(deps: InvitationDeps, token: string): Promise<InvitationForInvitee> {
  const record = await usableToken(deps, token);
  const invitation = await findInvitationById(deps.db, record.invitationId);
  const tenant = invitation && (await findTenant(deps.db, invitation.tenant_id));
  if (!invitation || !tenant) throw new UsherError('token-not-found');
  const [inviter, role] = await Promise.all([
    findUserById(deps.db, tenant.id, invitation.inviter_user_id),
    findRoleById(deps.db, tenant.id, invitation.role_id),
  ]);
  const inviterName = inviterDisplayName(invitation, inviter);
  return { invitation, tenant, inviterName, roleName: role?.name ?? 'member', tokenGeneration: record.generation };
}

async function usableToken(deps: InvitationDeps, token: string) {
  if (!tokenPattern.test(token)) throw new UsherError('token-not-found');
  const record = await findToken(deps.db, hashToken(token), deps.clock());
  if (!record) throw new UsherError('token-not-found');
  if (!record.usable) throw new UsherError('token-gone');
  return record;
}

/** A decision that waited behind another asks again: a link the one ahead used or replaced is gone, as it would be for a later click. */
async function stillUsable(deps: InvitationDeps, token: string): Promise<void> {
  await usableToken(deps, token);
}

export interface AcceptOutcome {
  invitationId: string;
  /** Where to send the invitee now: the invitation's redirect URL if its host is (still) allowed, else the tenant's home. */
  redirectUrl: string | null;
}

/**
 * Accepts with a link. `account` is the product's signed-in account, named by its back end (a server key); the tenant's
 * accept policy may demand one and that it match the invited address. A refusal changes nothing.
 */
export async function acceptByToken(deps: InvitationDeps, token: string, options: { account?: AcceptingAccount; tenantId?: string } = {}): Promise<AcceptOutcome> {
  const found = await lookupByToken(deps, token);
  // A key of another tenant learns nothing of this link.
  if (options.tenantId !== undefined && options.tenantId !== found.tenant.id) throw new UsherError('token-not-found');
  const verdict = judgeAccount(found.tenant.accept_policy, found.invitation.email, options.account);
  if (!verdict.ok) throw new UsherError('wrong-account', verdict.message);
  let acceptanceId: string | undefined;
  if (options.account) {
    acceptanceId = newId();
    await insertAcceptance(deps.db, { id: acceptanceId, invitationId: found.invitation.id, email: options.account.email, externalId: options.account.externalId ?? null });
  }
  const { redirectUrl } = await deps.workflows.accept(
    found.invitation.id,
    { tokenGeneration: found.tokenGeneration, ...(acceptanceId ? { acceptanceId } : {}) },
    { recheck: () => stillUsable(deps, token) },
  );
  const allowed = redirectUrl && redirectAllowed(redirectUrl, found.tenant.allowed_redirect_hosts) ? redirectUrl : null;
  deps.log.info('invitation accepted', { invitationId: found.invitation.id, tenantId: found.tenant.id });
  return { invitationId: found.invitation.id, redirectUrl: allowed ?? found.tenant.home_url };
}

export async function declineByToken(deps: InvitationDeps, token: string): Promise<{ invitationId: string }> {
  const found = await lookupByToken(deps, token);
  await deps.workflows.decline(found.invitation.id, { actor: 'invitee' }, { recheck: () => stillUsable(deps, token) });
  deps.log.info('invitation declined', { invitationId: found.invitation.id, tenantId: found.tenant.id });
  return { invitationId: found.invitation.id };
}
