import { heartbeat } from '@temporalio/activity';
import { completeBatch, findBatchById, pendingBatchRows } from '../src/db/batches';
import { processChunkRows } from '../src/bulk/process-chunk';
import type { ActivityDeps } from './deps';
import { chunkOpener } from './open-invitation';

/*
 * Why an activity starts the rows' workflows through a client rather than the batch workflow starting children: a
 * child per row would put every start into the batch's own history (10,000 rows is ~30,000 events, near Temporal's
 * limit) and tie each invitation's lifetime to the batch's. A row gets the very checks a single create runs, so both
 * paths obey the same rules, and a retried chunk finds the rows it already created by their idempotency keys.
 */

export function processBatchChunkActivity(deps: ActivityDeps) {
  /** Answers how many invitation emails it sent, for the worker's metrics. */
  return async function processBatchChunk(input: { batchId: string; from: number; to: number }): Promise<{ emailsSent: number }> {
    const batch = await findBatchById(deps.db, input.batchId);
    if (!batch) return { emailsSent: 0 };
    const rows = await pendingBatchRows(deps.db, input.batchId, input.from, input.to);
    const scope = { id: batch.id, tenantId: batch.tenant_id, inviterUserId: batch.inviter_user_id, maxRank: batch.max_rank };
    const opener = chunkOpener(deps);
    await processChunkRows(deps.invitations, scope, rows, { open: opener.open, progress: () => heartbeat() });
    return { emailsSent: opener.emailsSent() };
  };
}

export function completeBatchActivity({ db, clock }: ActivityDeps) {
  return async function completeBatchRun(input: { batchId: string }): Promise<void> {
    await completeBatch(db, input.batchId, clock());
  };
}
