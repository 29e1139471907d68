import type { Db } from '../db/connect';
import type { Tenant } from '../db/database';
import { findMembershipRank } from '../db/memberships';
import { findTenant } from '../db/tenants';

export type InviterVerdict =
  | { ok: true }
  | { ok: false; reason: 'invitations-disabled' | 'inviter-not-allowed' | 'role-too-high'; message: string };

/** Who may invite whom: the tenant allows invitations, the inviter is a member, and ranks at least as high as the role. */
export function judgeInviter(tenant: Pick<Tenant, 'invitations_enabled'> | undefined, inviterRank: number | undefined, roleRank: number): InviterVerdict {
  if (!tenant?.invitations_enabled) {
    return { ok: false, reason: 'invitations-disabled', message: 'invitations are switched off for this tenant' };
  }
  if (inviterRank === undefined) {
    return { ok: false, reason: 'inviter-not-allowed', message: 'the inviter is not a member of this tenant' };
  }
  if (inviterRank < roleRank) {
    return { ok: false, reason: 'role-too-high', message: 'the inviter may not grant a role above their own' };
  }
  return { ok: true };
}

export async function checkInviter(
  db: Db,
  input: { tenantId: string; inviterUserId: string; roleRank: number },
): Promise<InviterVerdict> {
  const [tenant, inviterRank] = await Promise.all([findTenant(db, input.tenantId), findMembershipRank(db, input.tenantId, input.inviterUserId)]);
  return judgeInviter(tenant, inviterRank, input.roleRank);
}

/** A redirect after accepting goes only to a host the tenant listed, over http(s). */
export function redirectAllowed(url: string, allowedHosts: readonly string[]): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
  return allowedHosts.some((h) => h.toLowerCase() === parsed.host.toLowerCase() || h.toLowerCase() === parsed.hostname.toLowerCase());
}
