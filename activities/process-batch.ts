import { heartbeat } from '@temporalio/activity';
import { completeBatch, findBatchById, pendingBatchRows } from '../src/db/batches';
import { processBatchRow } from '../src/bulk/process-row';
import { canonicalEmail } from '../src/lib/email-address';
import type { ActivityDeps } from './deps';

// Rows created at once in a chunk: each waits mostly on PostgreSQL and the workflow start. 16 lanes create a 2,000-row
// upload's rows in 58 s where 4 took 88 s (npm run bench, two cores); the rows' own steps queue at a lower priority.
const PARALLEL_ROWS = 16;

/*
 * Why an activity starts the rows' workflows through a client rather than the batch workflow starting children: a
 * child per row would put every start into the batch's own history (10,000 rows is ~30,000 events, near Temporal's
 * limit) and tie each invitation's lifetime to the batch's. A row here goes through the very createInvitation a
 * single create uses, so both paths obey the same rules, and a retried chunk finds the rows it already created by
 * their idempotency keys.
 */

export function processBatchChunkActivity(deps: ActivityDeps) {
  return async function processBatchChunk(input: { batchId: string; from: number; to: number }): Promise<void> {
    const batch = await findBatchById(deps.db, input.batchId);
    if (!batch) return;
    const rows = await pendingBatchRows(deps.db, input.batchId, input.from, input.to);
    const scope = { id: batch.id, tenantId: batch.tenant_id, inviterUserId: batch.inviter_user_id, maxRank: batch.max_rank };
    // Rows for one address share a lane and keep their order, so the first is created and the later ones are the
    // duplicates, as a person reading the file would expect.
    const lanes: (typeof rows)[] = Array.from({ length: PARALLEL_ROWS }, () => []);
    for (const row of rows) lanes[laneOf(row.input.email, PARALLEL_ROWS)]!.push(row);
    await Promise.all(
      lanes.map(async (lane) => {
        for (const row of lane) {
          await processBatchRow(deps.invitations, scope, row.row_number, row.input);
          heartbeat();
        }
      }),
    );
  };
}

function laneOf(email: unknown, lanes: number): number {
  const key = typeof email === 'string' ? canonicalEmail(email) : '';
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return hash % lanes;
}

export function completeBatchActivity({ db, clock }: ActivityDeps) {
  return async function completeBatchRun(input: { batchId: string }): Promise<void> {
    await completeBatch(db, input.batchId, clock());
  };
}
