import { findTenant } from '../db/tenants';
import { listUnstartedInvitations, markWorkflowStarted } from '../db/invitations';
import { workflowInput } from './create-invitation';
import type { InvitationDeps } from './deps';

/**
 * Repairs the one gap in the dual write: a process that died after committing an invitation and before starting its
 * workflow. Starting is idempotent (USE_EXISTING on a deterministic id), so running this while a request is mid-start
 * is harmless; the grace period only avoids needless calls.
 */
export async function startUnstartedInvitations(deps: InvitationDeps, options: { graceMs?: number; limit?: number } = {}): Promise<number> {
  const cutoff = new Date(deps.clock().getTime() - (options.graceMs ?? 60_000));
  const rows = await listUnstartedInvitations(deps.db, cutoff, options.limit ?? 100);
  for (const invitation of rows) {
    const tenant = await findTenant(deps.db, invitation.tenant_id);
    if (tenant && invitation.status === 'pending') await deps.workflows.start(workflowInput(invitation, tenant));
    await markWorkflowStarted(deps.db, invitation.id);
    deps.log.warn('started the workflow of an invitation left unstarted by a crash', { invitationId: invitation.id });
  }
  return rows.length;
}

/** Runs the repair every `intervalMs` until stopped. */
export function scheduleReconciler(deps: InvitationDeps, intervalMs = 30_000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    startUnstartedInvitations(deps)
      .catch((err) => deps.log.error('reconciler failed', { error: String(err) }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
