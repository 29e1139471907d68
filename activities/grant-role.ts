import { recordAudit } from '../src/db/audit';
import { isGrantedBy, upsertMembership } from '../src/db/memberships';
import type { ActivityDeps } from './deps';
import { type InvitationContext, loadInvitationContext } from './load';
import { provisionUserFor } from './provision-invitee';

/** Membership upsert keyed by (tenant, user): granting twice leaves one membership with the invited role. */
export function grantRoleActivity({ db }: ActivityDeps) {
  return async function grantRole({ invitationId, acceptanceId }: { invitationId: string; acceptanceId?: string }, loaded?: InvitationContext): Promise<void> {
    const { invitation, role } = loaded ?? (await loadInvitationContext(db, invitationId));
    // A link-only invitation can be accepted before provisioning ran; provisioning here too keeps that safe.
    const user = await provisionUserFor(db, invitation);
    await db.transaction().execute(async (tx) => {
      const grant = { tenantId: invitation.tenant_id, userId: user.id, roleId: role.id, invitationId };
      // A retry after a lost acknowledgement finds the grant done and writes nothing, not a second audit line.
      if (await isGrantedBy(tx, grant)) return;
      await upsertMembership(tx, { tenantId: invitation.tenant_id, userId: user.id, roleId: role.id, invitationId, acceptedBy: acceptanceId ?? null });
      await recordAudit(tx, {
        tenantId: invitation.tenant_id,
        invitationId,
        actor: 'system',
        action: 'role.granted',
        data: { role: role.slug, userId: user.id, ...(acceptanceId ? { acceptanceId } : {}) },
      });
    });
  };
}
