import { recordAudit } from '../src/db/audit';
import { lockInvitationForEdit, nextReminder, updateInvitation } from '../src/db/invitations';
import type { ActivityDeps } from './deps';

/**
 * Applies an edit of a pending invitation and records what changed (before and after) in the audit log, in one
 * transaction. Repeating it with the same values changes nothing further but the audit line, which a retry after a
 * lost acknowledgement can duplicate; the invitation itself stays right.
 */
export function editInvitationActivity({ db, clock }: ActivityDeps) {
  return async function editInvitation(input: {
    invitationId: string;
    actor: string;
    roleId: string | null;
    expiresAt: number | null;
    message?: string | null;
    /** With a new expiry: the workflow's next reminder under it (absent: not known yet, readers ask the workflow). */
    nextReminderAt?: number | null;
  }): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const before = await lockInvitationForEdit(tx, input.invitationId);
      if (before.status !== 'pending') return;
      const changes = {
        ...(input.roleId !== null ? { role_id: input.roleId } : {}),
        ...(input.expiresAt !== null ? { expires_at: new Date(input.expiresAt) } : {}),
        ...(input.message !== undefined ? { message: input.message } : {}),
      };
      if (Object.keys(changes).length === 0) return;
      const schedule = input.expiresAt === null ? {} : input.nextReminderAt !== undefined ? nextReminder(input.nextReminderAt) : { next_reminder_known: false };
      await updateInvitation(tx, input.invitationId, { ...changes, ...schedule, updated_at: clock() });
      await recordAudit(tx, {
        tenantId: before.tenant_id,
        invitationId: input.invitationId,
        actor: input.actor,
        action: 'invitation.edited',
        data: {
          ...(input.roleId !== null ? { roleId: { from: before.role_id, to: input.roleId } } : {}),
          ...(input.expiresAt !== null ? { expiresAt: { from: before.expires_at.toISOString(), to: new Date(input.expiresAt).toISOString() } } : {}),
          ...(input.message !== undefined ? { message: { from: before.message, to: input.message } } : {}),
        },
      });
    });
  };
}
