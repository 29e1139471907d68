import { findBatchById } from '../db/batches';
import type { Db } from '../db/connect';
import { findInvitationById } from '../db/invitations';
import { findRoleById } from '../db/roles';
import type { AuditEventToDispatch } from '../db/webhooks';
import { statusAfter, type WebhookEventType } from './events';

/*
 * What an event says. Ids, statuses, the role's slug, the origin and timestamps: enough for a receiver to act or to
 * fetch the rest over the API with its key. Never a link token or a link, an email address or an email's content,
 * nor a failure reason (an SMTP answer can quote the address). The body is built once, when the dispatcher first
 * sees the event, and stored: every attempt and every redelivery sends the same bytes under the same webhook-id.
 */

export interface WebhookPayload {
  id: string;
  type: WebhookEventType;
  /** When it happened (the audit log's time of the change), not when it was sent. */
  timestamp: string;
  data: Record<string, unknown>;
}

export interface BuiltEvent {
  /** The invitation or batch it is about: deliveries of one subject to one endpoint keep their order. */
  subjectId: string | null;
  payload: WebhookPayload;
}

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** Builds an event's payload from its audit row and the rows it names; undefined when they are gone (nothing to say). */
export async function buildEvent(db: Db, eventId: string, type: WebhookEventType, audit: AuditEventToDispatch): Promise<BuiltEvent | undefined> {
  const envelope = (data: Record<string, unknown>): WebhookPayload => ({ id: eventId, type, timestamp: iso(audit.created_at)!, data });
  const data = audit.data ?? {};

  if (type === 'batch.completed') {
    const batchId = typeof data.batchId === 'string' ? data.batchId : undefined;
    const batch = batchId ? await findBatchById(db, batchId) : undefined;
    if (!batch) return undefined;
    return {
      subjectId: batch.id,
      payload: envelope({
        object: 'batch',
        id: batch.id,
        tenantId: batch.tenant_id,
        status: 'completed',
        total: batch.total,
        results: data.results ?? {},
        inviterUserId: batch.inviter_user_id,
        createdAt: iso(batch.created_at),
        completedAt: iso(batch.completed_at) ?? iso(audit.created_at),
      }),
    };
  }

  if (!audit.invitation_id) return undefined;
  const invitation = await findInvitationById(db, audit.invitation_id);
  if (!invitation) return undefined;
  // The role the event itself names (created, granted) wins over the invitation's role now.
  const namedRole = typeof data.role === 'string' ? data.role : undefined;
  const role = namedRole ?? (await findRoleById(db, invitation.tenant_id, invitation.role_id))?.slug ?? null;

  if (type === 'membership.granted') {
    return {
      subjectId: invitation.id,
      payload: envelope({
        object: 'membership',
        tenantId: invitation.tenant_id,
        userId: typeof data.userId === 'string' ? data.userId : invitation.invitee_user_id,
        role,
        invitationId: invitation.id,
        origin: invitation.origin,
        grantedAt: iso(audit.created_at),
      }),
    };
  }

  const extra: Record<string, unknown> = {};
  if (type === 'invitation.edited') extra.changes = Object.keys(data).map((k) => (k === 'roleId' ? 'role' : k));
  if (type === 'invitation.reminded') {
    const number = /^reminder-(\d+)$/.exec(String(data.sendKey ?? ''))?.[1];
    if (number) extra.reminder = Number(number);
  }
  return {
    subjectId: invitation.id,
    payload: envelope({
      object: 'invitation',
      id: invitation.id,
      tenantId: invitation.tenant_id,
      status: statusAfter(type) ?? invitation.status,
      role,
      origin: invitation.origin,
      batchId: invitation.batch_id,
      inviterUserId: invitation.inviter_user_id,
      inviteeUserId: invitation.invitee_user_id,
      createdAt: iso(invitation.created_at),
      expiresAt: iso(invitation.expires_at),
      decidedAt: statusAfter(type) === 'pending' ? null : iso(invitation.decided_at),
      ...extra,
    }),
  };
}
