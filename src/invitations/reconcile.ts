import { recordAudit } from '../db/audit';
import { findInvitationById, forgetNextReminders, listUnstartedInvitations, markWorkflowStarted, settleInvitation } from '../db/invitations';
import { findRoleById } from '../db/roles';
import { findTenant } from '../db/tenants';
import { closeTokens } from '../db/tokens';
import { workflowInput } from './create-invitation';
import type { InvitationDeps } from './deps';

/**
 * Repairs the one gap in the dual write: a process that died after committing an invitation and before starting its
 * workflow, or a start whose outcome it never learned (a deadline passed mid-call). Starting is idempotent
 * (USE_EXISTING on a deterministic id), so running this while a request is mid-start is harmless; the grace period
 * only avoids needless calls.
 */
export async function startUnstartedInvitations(deps: InvitationDeps, options: { graceMs?: number; limit?: number } = {}): Promise<number> {
  const cutoff = new Date(deps.clock().getTime() - (options.graceMs ?? 60_000));
  const rows = await listUnstartedInvitations(deps.db, cutoff, options.limit ?? 100);
  for (const invitation of rows) {
    const tenant = await findTenant(deps.db, invitation.tenant_id);
    if (tenant && invitation.status === 'pending') {
      const role = await findRoleById(deps.db, invitation.tenant_id, invitation.role_id);
      await forgetNextReminders(deps.db, [invitation.id]);
      await deps.workflows.start(workflowInput(invitation, tenant), { role: role?.slug });
    }
    await markWorkflowStarted(deps.db, invitation.id);
    deps.log.warn('started the workflow of an invitation left unstarted by a crash', { invitationId: invitation.id });
  }
  return rows.length;
}

/**
 * The other direction: an invitation whose workflow closed without settling it (it failed on a bug, was terminated
 * by an operator, or timed out) would stay `pending` forever, its link still shown. Its row gets the workflow's
 * outcome: the final status the workflow reached, or `failed` with how it ended.
 */
export async function settleClosedInvitations(deps: InvitationDeps, options: { limit?: number } = {}): Promise<number> {
  const closed = await deps.workflows.closedWhilePending(options.limit ?? 100);
  let settled = 0;
  for (const outcome of closed) {
    const invitation = await findInvitationById(deps.db, outcome.invitationId);
    if (invitation?.status !== 'pending') continue;
    const at = deps.clock();
    const row = await deps.db.transaction().execute(async (tx) => {
      const updated = await settleInvitation(tx, { id: outcome.invitationId, status: outcome.status, reason: outcome.reason, at });
      if (!updated) return undefined;
      await closeTokens(tx, outcome.invitationId, outcome.status === 'accepted' ? 'consumed' : 'revoked', at);
      await recordAudit(tx, {
        tenantId: updated.tenant_id,
        invitationId: updated.id,
        actor: 'reconciler',
        action: `invitation.${outcome.status}`,
        data: outcome.reason ? { reason: outcome.reason } : {},
      });
      return updated;
    });
    if (!row) continue;
    settled++;
    deps.log.warn('settled an invitation whose workflow had closed while it was pending', {
      invitationId: outcome.invitationId,
      status: outcome.status,
      reason: outcome.reason,
    });
  }
  return settled;
}

export type Repair = (deps: InvitationDeps) => Promise<unknown>;

/**
 * Runs both repairs, then any `more` (a feature's own, e.g. bulk's), every `intervalMs` until stopped; a dependency
 * that is down only postpones them.
 */
export function scheduleReconciler(deps: InvitationDeps, intervalMs = 30_000, more: Repair[] = []): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    reconcile(deps, more)
      .catch((err) => deps.log.error('reconciler failed', { error: String(err) }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function reconcile(deps: InvitationDeps, more: Repair[]): Promise<void> {
  await startUnstartedInvitations(deps);
  await settleClosedInvitations(deps);
  for (const repair of more) await repair(deps);
}
