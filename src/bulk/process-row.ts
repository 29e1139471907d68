import { z } from 'zod';
import { recordRowResult } from '../db/batches';
import type { BatchRowResult } from '../db/database';
import { createInvitation } from '../invitations/create-invitation';
import type { InvitationDeps } from '../invitations/deps';
import { emailAddress } from '../lib/email-address';
import { UsherError } from '../lib/errors';

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
  batch: { id: string; tenantId: string; inviterUserId: string; maxRank: number | null },
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
      maxRank: batch.maxRank,
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
