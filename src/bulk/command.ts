import { z } from 'zod';
import type { BatchRowInput } from '../db/batches';
import { deleteBatch, findBatchByIdempotencyKey, insertBatch, recordRowResult } from '../db/batches';
import type { BatchRowResult } from '../db/database';
import { UsherError } from '../lib/errors';
import { createInvitation } from '../invitations/create-invitation';
import type { InvitationDeps } from '../invitations/deps';
import { emailAddress } from '../lib/email-address';
import { newId } from '../lib/ids';
import { parseCsv } from './csv';

export const MAX_BATCH_ROWS = 10_000;

export interface CreateBatchCommand {
  tenantId: string;
  inviterUserId: string;
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
    insertBatch(tx, { id, tenantId: cmd.tenantId, inviterUserId: cmd.inviterUserId, idempotencyKey: cmd.idempotencyKey ?? null, rows }),
  );
  try {
    await deps.workflows.startBatch({ batchId: id, total: rows.length });
  } catch (err) {
    await deleteBatch(deps.db, id);
    throw new UsherError('temporal-unavailable', undefined, {}, err);
  }
  deps.log.info('invitation batch created', { batchId: id, tenantId: cmd.tenantId, rows: rows.length });
  return { id, total: rows.length, replayed: false };
}

const CSV_COLUMNS: Record<string, string> = {
  email: 'email',
  role: 'role',
  first_name: 'firstName',
  firstname: 'firstName',
  last_name: 'lastName',
  lastname: 'lastName',
  message: 'message',
};

/** A CSV upload with a header row naming its columns (email, role, first_name, last_name, message; any case). */
export function rowsFromCsv(text: string): BatchRowInput[] {
  let records: string[][];
  try {
    records = parseCsv(text);
  } catch (err) {
    throw new UsherError('invalid-request', `the CSV cannot be read: ${(err as Error).message}`);
  }
  const [header, ...data] = records;
  if (!header) throw new UsherError('invalid-request', 'the CSV is empty');
  const columns = header.map((name) => {
    const key = CSV_COLUMNS[name.trim().toLowerCase().replace(/[\s-]/g, '_')];
    if (!key) throw new UsherError('invalid-request', `unknown CSV column "${name}"; use email, role, first_name, last_name, message`);
    return key;
  });
  if (!columns.includes('email')) throw new UsherError('invalid-request', 'the CSV needs an email column');
  return data.map((record) => {
    const row: BatchRowInput = {};
    columns.forEach((key, i) => {
      const value = record[i]?.trim();
      if (value) row[key] = value;
    });
    if (record.length !== columns.length) row.email = { malformed: `has ${record.length} fields, the header ${columns.length}` };
    return row;
  });
}

const rowSchema = z.object({
  email: emailAddress,
  role: z.string().min(1).max(100).optional(),
  firstName: z.string().max(200).optional(),
  lastName: z.string().max(200).optional(),
  message: z.string().max(5000).optional(),
  sendEmail: z.boolean(),
  expiresInDays: z.number().int().min(1).max(365).optional(),
}).strict();

const resultByCode: Partial<Record<string, BatchRowResult>> = {
  'open-invitation-exists': 'duplicate',
  'already-member': 'already-member',
  'invalid-request': 'invalid',
  'role-too-high': 'invalid',
  'redirect-not-allowed': 'invalid',
  'inviter-not-allowed': 'failed',
  'invitations-disabled': 'failed',
};

/**
 * One row: validated, then the same createInvitation as a single create. Its idempotency key is the batch and row, so
 * a chunk retried after a crash finds the rows it had already created instead of inviting twice.
 */
export async function processBatchRow(
  deps: InvitationDeps,
  batch: { id: string; tenantId: string; inviterUserId: string },
  rowNumber: number,
  input: Record<string, unknown>,
): Promise<void> {
  const record = (result: BatchRowResult, reason: string | null, invitationId: string | null) =>
    recordRowResult(deps.db, { batchId: batch.id, rowNumber, result, reason, invitationId, at: deps.clock() });
  const parsed = rowSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    return record('invalid', `${issue.path.join('.') || 'row'}: ${message}`, null);
  }
  const row = parsed.data;
  try {
    const { invitation } = await createInvitation(deps, {
      tenantId: batch.tenantId,
      email: row.email,
      role: row.role ? { slug: row.role } : undefined,
      inviterUserId: batch.inviterUserId,
      firstName: row.firstName,
      lastName: row.lastName,
      message: row.message,
      expiresInDays: row.expiresInDays,
      sendEmail: row.sendEmail,
      origin: 'bulk',
      actor: `batch:${batch.id}`,
      idempotencyKey: `batch:${batch.id}:${rowNumber}`,
      batchId: batch.id,
    });
    return record('created', null, invitation.id);
  } catch (err) {
    const result = err instanceof UsherError ? resultByCode[err.code] : undefined;
    if (!result || !(err instanceof UsherError)) throw err;
    return record(result, err.message, typeof err.extra.invitationId === 'string' ? err.extra.invitationId : null);
  }
}
