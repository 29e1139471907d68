import type { Db } from '../db/connect';
import { findMembershipRank, findTenant } from '../db/tenants';

export type InviterVerdict =
  | { ok: true }
  | { ok: false; reason: 'invitations-disabled' | 'inviter-not-allowed' | 'role-too-high'; message: string };

/** Who may invite whom: the tenant allows invitations, the inviter is a member, and ranks at least as high as the role. */
export async function checkInviter(
  db: Db,
  input: { tenantId: string; inviterUserId: string; roleRank: number },
): Promise<InviterVerdict> {
  const tenant = await findTenant(db, input.tenantId);
  if (!tenant?.invitations_enabled) {
    return { ok: false, reason: 'invitations-disabled', message: 'invitations are switched off for this tenant' };
  }
  const inviterRank = await findMembershipRank(db, input.tenantId, input.inviterUserId);
  if (inviterRank === undefined) {
    return { ok: false, reason: 'inviter-not-allowed', message: 'the inviter is not a member of this tenant' };
  }
  if (inviterRank < input.roleRank) {
    return { ok: false, reason: 'role-too-high', message: 'the inviter may not grant a role above their own' };
  }
  return { ok: true };
}

/** A redirect after accepting goes only to a host the tenant listed, over http(s). */
export function redirectAllowed(url: string, allowedHosts: readonly string[]): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
  return allowedHosts.some((h) => h.toLowerCase() === parsed.host.toLowerCase() || h.toLowerCase() === parsed.hostname.toLowerCase());
}
