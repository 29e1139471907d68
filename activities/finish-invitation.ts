import { recordAudit } from '../src/db/audit';
import type { InvitationStatus } from '../src/db/database';
import { findInvitationById, settleInvitation } from '../src/db/invitations';
import { closeTokens } from '../src/db/tokens';
import type { ActivityDeps } from './deps';

export interface FinishInput {
  invitationId: string;
  status: InvitationStatus;
  actor: string;
  reason: string | null;
  /** Workflow time of the decision. */
  at: number;
}

/**
 * Records the final status, closes the live link and writes the audit event in one transaction. The UPDATE is
 * conditional on `pending`, so a retry after a lost acknowledgement finds nothing to do and writes nothing twice.
 */
export function finishInvitationActivity({ db }: ActivityDeps) {
  return async function finishInvitation(input: FinishInput): Promise<{ redirectUrl: string | null }> {
    const at = new Date(input.at);
    const settled = await db.transaction().execute(async (tx) => {
      const row = await settleInvitation(tx, { id: input.invitationId, status: input.status, reason: input.reason, at });
      if (!row) return undefined;
      await closeTokens(tx, input.invitationId, input.status === 'accepted' ? 'consumed' : 'revoked', at);
      await recordAudit(tx, {
        tenantId: row.tenant_id,
        invitationId: row.id,
        actor: input.actor,
        action: `invitation.${input.status}`,
        data: input.reason ? { reason: input.reason } : {},
      });
      return row;
    });
    const invitation = settled ?? (await findInvitationById(db, input.invitationId));
    return { redirectUrl: invitation?.redirect_url ?? null };
  };
}
