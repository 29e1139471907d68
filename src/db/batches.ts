import { sql } from 'kysely';
import type { Db } from './connect';
import type { BatchRowResult } from './database';

/** A row as the caller sent it (email, role, firstName, lastName, message); validated when it is processed. */
export type BatchRowInput = Record<string, unknown>;

export async function insertBatch(
  db: Db,
  batch: { id: string; tenantId: string; inviterUserId: string; idempotencyKey: string | null; maxRank: number | null; rows: BatchRowInput[] },
): Promise<void> {
  await db
    .insertInto('invitation_batches')
    .values({ id: batch.id, tenant_id: batch.tenantId, inviter_user_id: batch.inviterUserId, status: 'running', total: batch.rows.length, idempotency_key: batch.idempotencyKey, max_rank: batch.maxRank })
    .execute();
  for (let start = 0; start < batch.rows.length; start += 1000) {
    await db
      .insertInto('invitation_batch_rows')
      .values(batch.rows.slice(start, start + 1000).map((input, i) => ({ batch_id: batch.id, row_number: start + i + 1, input: JSON.stringify(input) })))
      .execute();
  }
}

export async function findBatch(db: Db, tenantId: string, id: string) {
  return db.selectFrom('invitation_batches').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export async function findBatchById(db: Db, id: string) {
  return db.selectFrom('invitation_batches').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findBatchByIdempotencyKey(db: Db, tenantId: string, key: string) {
  return db.selectFrom('invitation_batches').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', key).executeTakeFirst();
}

export async function deleteBatch(db: Db, id: string): Promise<void> {
  await db.deleteFrom('invitation_batches').where('id', '=', id).execute();
}

/** Rows of [from, to] not yet given a result: what a retried chunk still has to do. */
export async function pendingBatchRows(db: Db, batchId: string, from: number, to: number) {
  return db
    .selectFrom('invitation_batch_rows')
    .select(['row_number', 'input'])
    .where('batch_id', '=', batchId)
    .where('row_number', '>=', from)
    .where('row_number', '<=', to)
    .where('result', 'is', null)
    .orderBy('row_number')
    .execute();
}

export async function recordRowResult(
  db: Db,
  input: { batchId: string; rowNumber: number; result: BatchRowResult; reason: string | null; invitationId: string | null; at: Date },
): Promise<void> {
  await db
    .updateTable('invitation_batch_rows')
    .set({ result: input.result, reason: input.reason, invitation_id: input.invitationId, processed_at: input.at })
    .where('batch_id', '=', input.batchId)
    .where('row_number', '=', input.rowNumber)
    .execute();
}

export async function completeBatch(db: Db, batchId: string, at: Date): Promise<void> {
  await db.updateTable('invitation_batches').set({ status: 'completed', completed_at: at }).where('id', '=', batchId).where('status', '=', 'running').execute();
}

export async function batchCounts(db: Db, batchId: string): Promise<Record<BatchRowResult | 'pending', number>> {
  const rows = await db
    .selectFrom('invitation_batch_rows')
    .select([sql<string>`coalesce(result, 'pending')`.as('result'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('batch_id', '=', batchId)
    .groupBy('result')
    .execute();
  const counts = { created: 0, duplicate: 0, invalid: 0, 'already-member': 0, failed: 0, pending: 0 };
  for (const row of rows) counts[row.result as keyof typeof counts] = Number(row.n);
  return counts;
}

export async function listBatchRows(db: Db, batchId: string, after: number, limit: number) {
  return db
    .selectFrom('invitation_batch_rows')
    .select(['row_number', 'input', 'result', 'reason', 'invitation_id'])
    .where('batch_id', '=', batchId)
    .where('row_number', '>', after)
    .orderBy('row_number')
    .limit(limit)
    .execute();
}
