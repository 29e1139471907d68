import { sql } from 'kysely';
import type { Db } from './connect';
import type { BatchRowResult, Invitation } from './database';
import { memberUsers } from './memberships';

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

/** Batches still running that were stored before `createdBefore`: the reconciler makes sure each has its workflow. */
export async function listRunningBatches(db: Db, createdBefore: Date, limit: number): Promise<{ id: string; total: number }[]> {
  return db
    .selectFrom('invitation_batches')
    .select(['id', 'total'])
    .where('status', '=', 'running')
    .where('created_at', '<', createdBefore)
    .orderBy('created_at')
    .limit(limit)
    .execute();
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

/*
 * A chunk of a bulk upload at once (src/bulk/process-chunk.ts): the reads its rows' checks need, one query each for
 * the whole chunk, and its new invitations written in one transaction, so a 10,000-row upload costs a few hundred
 * statements rather than a hundred thousand.
 */

/** The invitations a chunk already created (a retried chunk), found by their rows' idempotency keys. */
export async function findInvitationsByIdempotencyKeys(db: Db, tenantId: string, keys: string[]): Promise<Invitation[]> {
  if (keys.length === 0) return [];
  return db.selectFrom('invitations').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', 'in', keys).execute();
}

/** Which of these canonical addresses already belong to a member of the tenant. */
export async function findMemberEmails(db: Db, tenantId: string, emailsCanonical: string[]): Promise<Set<string>> {
  if (emailsCanonical.length === 0) return new Set();
  const rows = await memberUsers(db, tenantId).select('users.email_canonical').where('users.email_canonical', 'in', emailsCanonical).execute();
  return new Set(rows.map((r) => r.email_canonical));
}

/** The open invitation of each of these canonical addresses that has one. */
export async function findOpenInvitationsByEmails(db: Db, tenantId: string, emailsCanonical: string[]): Promise<Map<string, Invitation>> {
  if (emailsCanonical.length === 0) return new Map();
  const rows = await db
    .selectFrom('invitations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', sql.lit('pending'))
    .where('email_canonical', 'in', emailsCanonical)
    .execute();
  return new Map(rows.map((r) => [r.email_canonical, r]));
}

/** Every row of a chunk given its result in one statement; a row already given one keeps it. */
export async function recordRowResults(
  db: Db,
  batchId: string,
  results: { rowNumber: number; result: BatchRowResult; reason: string | null; invitationId: string | null }[],
  at: Date,
): Promise<void> {
  if (results.length === 0) return;
  const values = sql.join(results.map((r) => sql`(${r.rowNumber}::int, ${r.result}::text, ${r.reason}::text, ${r.invitationId}::uuid)`));
  const rowNumbers = results.map((r) => r.rowNumber);
  // The range bounds the scan to the chunk's rows. Without it, the planner, whose statistics predate the batch's
  // rows, read every row of the batch and compared each with every value: 0.1–0.5 s a chunk (docs/benchmark.md).
  await sql`
    update invitation_batch_rows as r
       set result = v.result, reason = v.reason, invitation_id = v.invitation_id, processed_at = ${at}
      from (values ${values}) as v (row_number, result, reason, invitation_id)
     where r.batch_id = ${batchId} and r.row_number between ${Math.min(...rowNumbers)} and ${Math.max(...rowNumbers)}
       and r.row_number = v.row_number and r.result is null`.execute(db);
}
