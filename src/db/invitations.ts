import { sql } from 'kysely';
import { type AuditInput, auditRow } from './audit';
import type { Db } from './connect';
import type { Invitation, InvitationStatus, NewInvitation } from './database';
import { type NewToken, tokenRow } from './tokens';

export async function insertInvitation(db: Db, row: NewInvitation): Promise<Invitation> {
  return db.insertInto('invitations').values(row).returningAll().executeTakeFirstOrThrow();
}

export interface NewInvitations {
  invitations: NewInvitation[];
  tokens: NewToken[];
  audits: AuditInput[];
}

/**
 * New invitations with their first token hashes and audit events, in one statement (data-modifying CTEs): as atomic
 * as a transaction, and one round trip instead of five. The foreign keys of the tokens and events are checked at the
 * statement's end, where the invitations are in place. Answers the stored rows.
 */
export async function insertNewInvitations(db: Db, input: NewInvitations): Promise<Invitation[]> {
  if (input.invitations.length === 0) return [];
  let query = db.with('invitation', (qb) => qb.insertInto('invitations').values(input.invitations).returningAll());
  if (input.tokens.length > 0) {
    query = query.with('token', (qb) => qb.insertInto('invitation_tokens').values(input.tokens.map(tokenRow)).onConflict((oc) => oc.doNothing()).returning('token_hash'));
  }
  if (input.audits.length > 0) {
    query = query.with('audit', (qb) => qb.insertInto('audit_events').values(input.audits.map(auditRow)).returning('id'));
  }
  return query.selectFrom('invitation').selectAll().execute();
}

export async function findInvitation(db: Db, tenantId: string, id: string): Promise<Invitation | undefined> {
  return db.selectFrom('invitations').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** For activities, which act on an invitation by id alone. */
export async function findInvitationById(db: Db, id: string): Promise<Invitation | undefined> {
  return db.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOpenInvitationByEmail(db: Db, tenantId: string, emailCanonical: string): Promise<Invitation | undefined> {
  return db
    .selectFrom('invitations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('email_canonical', '=', emailCanonical)
    // A literal, not a parameter: only then does a generic plan match the partial index invitations_one_pending.
    .where('status', '=', sql.lit('pending'))
    .executeTakeFirst();
}

export async function findInvitationByIdempotencyKey(db: Db, tenantId: string, key: string): Promise<Invitation | undefined> {
  return db
    .selectFrom('invitations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

export interface ListInvitationsQuery {
  tenantId: string;
  status?: InvitationStatus;
  emailCanonical?: string;
  limit: number;
  /** Continue after this (created_at, id), newest first. */
  after?: { createdAt: Date; id: string };
}

export async function listInvitations(db: Db, q: ListInvitationsQuery): Promise<Invitation[]> {
  let query = db.selectFrom('invitations').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.emailCanonical) query = query.where('email_canonical', '=', q.emailCanonical);
  if (q.after) {
    const { createdAt, id } = q.after;
    query = query.where(sql<boolean>`(created_at, id) < (${createdAt}, ${id})`);
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

/** Moves a pending invitation to its final status; a repeat, or a race lost to another decision, changes nothing. */
export async function settleInvitation(
  db: Db,
  input: { id: string; status: InvitationStatus; reason: string | null; at: Date },
): Promise<Invitation | undefined> {
  return db
    .updateTable('invitations')
    .set({ status: input.status, failure_reason: input.reason, decided_at: input.at, updated_at: new Date() })
    .where('id', '=', input.id)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

export async function markWorkflowStarted(db: Db, id: string): Promise<void> {
  await markWorkflowsStarted(db, [id]);
}

/** Several at once, by the bulk chunk that started their workflows. A row marked before keeps its time. */
export async function markWorkflowsStarted(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('invitations').set({ workflow_started_at: new Date() }).where('id', 'in', ids).where('workflow_started_at', 'is', null).execute();
}

/**
 * The rows stop vouching for their next reminder, and readers ask the workflow: for a start whose tenant settings were
 * read after the row was written (they give the workflow its schedule).
 */
export async function forgetNextReminders(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('invitations').set({ next_reminder_known: false }).where('id', 'in', ids).execute();
}

export async function deleteInvitation(db: Db, id: string): Promise<void> {
  await db.deleteFrom('invitations').where('id', '=', id).execute();
}

/** Invitations written but never handed to Temporal: a crash between the insert and the workflow start. */
export async function listUnstartedInvitations(db: Db, createdBefore: Date, limit: number): Promise<Invitation[]> {
  return db
    .selectFrom('invitations')
    .selectAll()
    .where('workflow_started_at', 'is', null)
    .where('created_at', '<', createdBefore)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/** The fields an edit may change, read under a row lock so concurrent edits apply one after the other. */
export async function lockInvitationForEdit(db: Db, id: string) {
  return db
    .selectFrom('invitations')
    .select(['tenant_id', 'role_id', 'expires_at', 'message', 'status'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

export async function updateInvitation(
  db: Db,
  id: string,
  changes: { role_id?: string; expires_at?: Date; message?: string | null; next_reminder_at?: Date | null; next_reminder_known?: boolean; updated_at: Date },
): Promise<void> {
  await db.updateTable('invitations').set(changes).where('id', '=', id).execute();
}

/**
 * The invitee's user, set by the invitation's workflow: so the row is marked started too, as markWorkflowStarted
 * does (a row marked before keeps its time), in the same statement.
 */
export async function setInviteeUser(db: Db, id: string, userId: string): Promise<void> {
  await db
    .updateTable('invitations')
    .set((eb) => ({ invitee_user_id: userId, workflow_started_at: eb.fn.coalesce('workflow_started_at', eb.val(new Date())) }))
    .where('id', '=', id)
    .execute();
}

/** The invitee users of several invitations, in one statement: a bulk chunk's, which marks its rows started once their workflows have. */
export async function setInviteeUsers(db: Db, pairs: { invitationId: string; userId: string }[]): Promise<void> {
  if (pairs.length === 0) return;
  const values = sql.join(pairs.map((p) => sql`(${p.invitationId}::uuid, ${p.userId}::uuid)`));
  await sql`update invitations as i set invitee_user_id = v.user_id from (values ${values}) as v(id, user_id) where i.id = v.id`.execute(db);
}

/** The current link generation, under a row lock: a resend's rotation happens once per generation. */
export async function lockTokenGeneration(db: Db, id: string): Promise<{ tenant_id: string; token_generation: number }> {
  return db.selectFrom('invitations').select(['tenant_id', 'token_generation']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

/** A resend: the new cycle's reminders are the workflow's to decide, and its email records them (`recordNextReminder`). */
export async function advanceTokenGeneration(db: Db, id: string, input: { generation: number; expiresAt: Date | null; at: Date }): Promise<void> {
  await db
    .updateTable('invitations')
    .set({
      token_generation: input.generation,
      updated_at: input.at,
      next_reminder_known: false,
      ...(input.expiresAt !== null ? { expires_at: input.expiresAt } : {}),
    })
    .where('id', '=', id)
    .execute();
}

export async function countReminderSent(db: Db, id: string, at: Date): Promise<void> {
  await db
    .updateTable('invitations')
    .set((eb) => ({ reminders_sent: eb('reminders_sent', '+', 1), updated_at: at }))
    .where('id', '=', id)
    .execute();
}

/**
 * The workflow's next reminder (null: none left), as it decided it for a link generation and an expiry: a resend or
 * an edit of the expiry since then has made it stale, and the row keeps what that step recorded.
 */
export async function recordNextReminder(db: Db, id: string, next: { reminderAt: number | null; expiresAt: number; generation: number }): Promise<void> {
  await db
    .updateTable('invitations')
    .set(nextReminder(next.reminderAt))
    .where('id', '=', id)
    .where('token_generation', '=', next.generation)
    .where('expires_at', '=', new Date(next.expiresAt))
    .execute();
}

/** The columns that say the next reminder is known, and when (null: none is left). */
export const nextReminder = (reminderAt: number | null) => ({ next_reminder_at: reminderAt === null ? null : new Date(reminderAt), next_reminder_known: true });

/** What an invitation's view shows of its role and inviter, for a page of invitations at once. */
export async function findRolesAndInviters(db: Db, roleIds: string[], userIds: string[]) {
  const [roles, users] = await Promise.all([
    roleIds.length ? db.selectFrom('roles').select(['id', 'slug', 'name']).where('id', 'in', roleIds).execute() : [],
    userIds.length ? db.selectFrom('users').select(['id', 'email']).where('id', 'in', userIds).execute() : [],
  ]);
  return { roles, users };
}

export interface ResendCounters {
  resends: number;
  last_resent_at: Date | null;
  resend_window_start: Date | null;
  resends_in_window: number;
}

/** The resend counters under a row lock: concurrent resends are counted one after the other. */
export async function lockResendCounters(db: Db, id: string): Promise<ResendCounters | undefined> {
  return db
    .selectFrom('invitations')
    .select(['resends', 'last_resent_at', 'resend_window_start', 'resends_in_window'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function saveResendCounters(db: Db, id: string, counters: ResendCounters): Promise<void> {
  await db.updateTable('invitations').set(counters).where('id', '=', id).execute();
}
