import { listRunningBatches } from '../db/batches';
import type { InvitationDeps } from '../invitations/deps';

/**
 * A batch whose workflow start went unconfirmed (a deadline passed mid-call) or whose API died between storing it and
 * starting it: every running batch past the grace period gets its start again. Starting is idempotent (USE_EXISTING
 * on the batch's id, and a closed one is never started twice), so a batch already under way is untouched.
 */
export async function startUnstartedBatches(deps: InvitationDeps, options: { graceMs?: number; limit?: number } = {}): Promise<number> {
  const cutoff = new Date(deps.clock().getTime() - (options.graceMs ?? 60_000));
  const batches = await listRunningBatches(deps.db, cutoff, options.limit ?? 100);
  for (const batch of batches) await deps.workflows.startBatch({ batchId: batch.id, total: batch.total });
  return batches.length;
}
