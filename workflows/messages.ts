import { defineQuery, defineUpdate } from '@temporalio/workflow';

// Message names and the workflow id format are a contract with running workflows: never rename them.

export type InvitationStatus = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired' | 'bounced' | 'failed';

export interface InvitationWorkflowInput {
  invitationId: string;
  tenantId: string;
  /** Epoch milliseconds; the reminder schedule is laid out between these two. */
  createdAt: number;
  expiresAt: number;
  /** Reminder points in days, given for a TTL of `reminderBasisDays`, scaled to this invitation's own TTL. */
  reminderDays: number[];
  reminderBasisDays: number;
  sendEmail: boolean;
  /** The front door it came through (api, bulk, mendix, quickbase, sap, akana, royalti): shown in the memo. */
  origin?: string;
  /**
   * Its opening steps (check the inviter, provision the invitee, send the invitation) were done before the start, by
   * the bulk chunk that created it: the workflow goes straight to waiting. Absent in every other start.
   */
  opened?: boolean;
  /**
   * The command sequence it was started on. Absent (every start before input versions): each path of
   * workflows/invitation.ts is chosen by `patched()` where the code reaches it. 1: every patch there up to
   * `merged-steps` is on from the first task, with no marker; the three markers and the `TemporalChangeVersion`
   * search attribute `patched()` writes cost history events and a visibility write in every invitation.
   */
  version?: 1;
}

export interface InvitationState {
  status: InvitationStatus;
  failureReason: string | null;
  expiresAt: string;
  nextReminderAt: string | null;
  remindersSent: number;
  reminderTimes: string[];
  tokenGeneration: number;
}

/**
 * When the caller stops waiting (epoch ms, the caller's clock): a decision that has not started by then is refused as
 * busy, so a caller answered "try again" can trust that nothing happened. Absent in updates sent before it existed.
 */
export interface Deadline {
  answerBy?: number;
}

export interface AcceptArgs extends Deadline {
  /** The generation of the token presented; a superseded link must not accept. */
  tokenGeneration: number;
  /** The account a product's back end named (its row, by id: no address enters history). */
  acceptanceId?: string;
}
export interface AcceptResult {
  redirectUrl: string | null;
}
export interface ActorArgs extends Deadline {
  actor: string;
  reason?: string;
}
export interface ResendArgs extends Deadline {
  actor: string;
  /** New expiry, epoch milliseconds. */
  expiresAt?: number;
}

export interface EditArgs extends Deadline {
  actor: string;
  roleId?: string;
  /** New expiry, epoch milliseconds. */
  expiresAt?: number;
  message?: string | null;
}

export const acceptUpdate = defineUpdate<AcceptResult, [AcceptArgs]>('accept');
export const declineUpdate = defineUpdate<InvitationState, [ActorArgs]>('decline');
export const revokeUpdate = defineUpdate<InvitationState, [ActorArgs]>('revoke');
export const resendUpdate = defineUpdate<InvitationState, [ResendArgs]>('resend');
export const editUpdate = defineUpdate<InvitationState, [EditArgs]>('edit');
export const stateQuery = defineQuery<InvitationState>('state');

export const workflowIdFor = (invitationId: string): string => `invitation-${invitationId}`;

/** ApplicationFailure types the API maps to problem+json. */
export const FailureType = {
  InviterNotAllowed: 'InviterNotAllowed',
  InvitationsDisabled: 'InvitationsDisabled',
  InvitationMissing: 'InvitationMissing',
  NotPending: 'InvitationNotPending',
  TokenSuperseded: 'TokenSuperseded',
  EmailRejected: 'EmailRejected',
  /** Transient send failures went on for the whole retry window (MAIL_RETRY_HOURS). */
  MailUndeliverable: 'MailUndeliverable',
  InvalidExpiry: 'InvalidExpiry',
  /** A decision waited for the one in flight longer than the workflow lets it (decisionQueueMs): try again. */
  Busy: 'InvitationBusy',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Refusals that end an invitation before anyone could accept it. */
export const terminalRefusals: readonly string[] = [
  FailureType.InviterNotAllowed,
  FailureType.InvitationsDisabled,
  FailureType.InvitationMissing,
];

export interface InvitationBatchInput {
  batchId: string;
  total: number;
  /**
   * Rows per chunk activity. A batch's chunk bounds are counted from its input on every replay, never stored: a batch
   * started before chunks grew has none and goes on in chunks of 100, as its history's activities were scheduled.
   */
  chunkRows?: number;
}

/**
 * Rows in each chunk of a batch started now. Each chunk is an activity and a workflow task between two of them, so
 * fewer, larger chunks leave the upload fewer pauses (docs/benchmark.md); 250 rows are still about two seconds' work,
 * well within the chunk's heartbeat timeout, and what a retried chunk does again.
 */
export const BATCH_CHUNK_ROWS = 250;

export const batchWorkflowIdFor = (batchId: string): string => `invitation-batch-${batchId}`;
