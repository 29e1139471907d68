import { type BatchRowInput, deleteBatch, findBatchByIdempotencyKey, insertBatch } from '../db/batches';
import { UsherError } from '../lib/errors';
import { temporalUnavailable, unconfirmedStart } from '../invitations/create-invitation';
import type { InvitationDeps } from '../invitations/deps';
import { newId } from '../lib/ids';
import { WorkflowStartError } from '../temporal/invitation-client';

export const MAX_BATCH_ROWS = 10_000;

export interface CreateBatchCommand {
  tenantId: string;
  inviterUserId: string;
  /** The sending key's ceiling: every row is judged against it. */
  maxRank: number | null;
  rows: BatchRowInput[];
  sendEmail: boolean;
  expiresInDays?: number;
  actor: string;
  idempotencyKey?: string;
}

/**
 * Stores every row as given and hands the batch to a durable workflow; rows are validated one by one there, so a bad
 * row is reported, never emailed, and never stops the others. Answers at once with the batch id.
 */
export async function createBatch(deps: InvitationDeps, cmd: CreateBatchCommand): Promise<{ id: string; total: number; replayed: boolean }> {
  if (cmd.rows.length === 0) throw new UsherError('invalid-request', 'the batch has no rows');
  if (cmd.rows.length > MAX_BATCH_ROWS) throw new UsherError('invalid-request', `a batch holds at most ${MAX_BATCH_ROWS} rows, this one has ${cmd.rows.length}`);
  if (cmd.idempotencyKey) {
    const earlier = await findBatchByIdempotencyKey(deps.db, cmd.tenantId, cmd.idempotencyKey);
    if (earlier) return { id: earlier.id, total: earlier.total, replayed: true };
  }
  const id = newId(deps.clock().getTime());
  const rows = cmd.rows.map((row) => ({ ...row, sendEmail: cmd.sendEmail, ...(cmd.expiresInDays ? { expiresInDays: cmd.expiresInDays } : {}) }));
  await deps.db.transaction().execute((tx) =>
    insertBatch(tx, { id, tenantId: cmd.tenantId, inviterUserId: cmd.inviterUserId, idempotencyKey: cmd.idempotencyKey ?? null, maxRank: cmd.maxRank, rows }),
  );
  try {
    await deps.workflows.startBatch({ batchId: id, total: rows.length });
  } catch (err) {
    // The batch stays; the reconciler (bulk/reconcile.ts) makes sure it runs.
    if (err instanceof WorkflowStartError && !err.refused) throw unconfirmedStart(deps, 'batch', { batchId: id }, err);
    await deleteBatch(deps.db, id);
    throw temporalUnavailable(deps, err);
  }
  deps.log.info('invitation batch created', { batchId: id, tenantId: cmd.tenantId, rows: rows.length });
  return { id, total: rows.length, replayed: false };
}
