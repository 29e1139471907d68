import { z } from 'zod';
import type { BatchRowResult } from '../db/database';
import type { CreateInvitationCommand } from '../invitations/create-invitation';
import { emailAddress } from '../lib/email-address';
import { BULK_ORIGIN } from '../temporal/invitation-client';

export interface BatchScope {
  id: string;
  tenantId: string;
  inviterUserId: string;
  maxRank: number | null;
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

/** The refusals of a create that are a row's result, not a failure of its chunk. */
export const resultByCode: Partial<Record<string, BatchRowResult>> = {
  'open-invitation-exists': 'duplicate',
  'already-member': 'already-member',
  'invalid-request': 'invalid',
  'role-too-high': 'invalid',
  'redirect-not-allowed': 'invalid',
  'inviter-not-allowed': 'failed',
  'invitations-disabled': 'failed',
};

/**
 * A row validated into the create command a single create would run, or why it is invalid. Its idempotency key is the
 * batch and row, so a chunk retried after a crash finds the rows it had already created instead of inviting twice.
 */
export function rowCommand(batch: BatchScope, rowNumber: number, input: Record<string, unknown>): CreateInvitationCommand | { invalid: string } {
  const parsed = rowSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    return { invalid: `${issue.path.join('.') || 'row'}: ${message}` };
  }
  const row = parsed.data;
  return {
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
    origin: BULK_ORIGIN,
    actor: `batch:${batch.id}`,
    idempotencyKey: `batch:${batch.id}:${rowNumber}`,
    batchId: batch.id,
  };
}
