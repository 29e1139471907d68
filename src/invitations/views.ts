import type { Db } from '../db/connect';
import type { Invitation } from '../db/database';
import { listInvitationTimeline } from '../db/audit';
import { findRolesAndInviters } from '../db/invitations';
import type { InvitationWorkflows } from '../temporal/invitation-client';

export interface InvitationView {
  id: string;
  email: string;
  status: Invitation['status'];
  failureReason: string | null;
  role: { id: string; slug: string; name: string };
  inviter: { id: string; email: string };
  firstName: string | null;
  lastName: string | null;
  message: string | null;
  redirectUrl: string | null;
  language: string;
  sendEmail: boolean;
  origin: string;
  expiresAt: string;
  remindersSent: number;
  workflowId: string;
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
}

export interface TimelineEntry {
  at: string;
  actor: string;
  action: string;
  data: Record<string, unknown>;
}

/** Rows to the API's representation; one query for the roles and inviters of a whole page. */
export async function toViews(db: Db, invitations: Invitation[]): Promise<InvitationView[]> {
  if (invitations.length === 0) return [];
  const roleIds = [...new Set(invitations.map((i) => i.role_id))];
  const userIds = [...new Set(invitations.map((i) => i.inviter_user_id))];
  const { roles, users } = await findRolesAndInviters(db, roleIds, userIds);
  const roleById = new Map(roles.map((r) => [r.id, r]));
  const userById = new Map(users.map((u) => [u.id, u]));
  return invitations.map((i) => ({
    id: i.id,
    email: i.email,
    status: i.status,
    failureReason: i.failure_reason,
    role: roleById.get(i.role_id) ?? { id: i.role_id, slug: '', name: '' },
    inviter: userById.get(i.inviter_user_id) ?? { id: i.inviter_user_id, email: '' },
    firstName: i.first_name,
    lastName: i.last_name,
    message: i.message,
    redirectUrl: i.redirect_url,
    language: i.language,
    sendEmail: i.send_email,
    origin: i.origin,
    expiresAt: i.expires_at.toISOString(),
    remindersSent: i.reminders_sent,
    workflowId: i.workflow_id,
    createdAt: i.created_at.toISOString(),
    updatedAt: i.updated_at.toISOString(),
    decidedAt: i.decided_at?.toISOString() ?? null,
  }));
}

export async function timelineOf(db: Db, invitationId: string): Promise<TimelineEntry[]> {
  const events = await listInvitationTimeline(db, invitationId);
  return events.map((e) => ({ at: e.created_at.toISOString(), actor: e.actor, action: e.action, data: e.data }));
}

/**
 * A pending invitation's next reminder: what its row recorded of the workflow's schedule, or, where the row does not
 * know (migrations/2026_12_05_0006), the workflow's own answer (null if it cannot be asked now).
 */
export async function nextReminderOf(workflows: Pick<InvitationWorkflows, 'state'>, invitation: Invitation): Promise<string | null> {
  if (invitation.next_reminder_known) return invitation.next_reminder_at?.toISOString() ?? null;
  return workflows.state(invitation.id).then(
    (state) => state.nextReminderAt,
    () => null,
  );
}
