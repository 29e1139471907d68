import type { Db } from './connect';
import type { AuditEvent } from './database';

export interface AuditInput {
  tenantId: string;
  invitationId: string | null;
  actor: string;
  action: string;
  data?: Record<string, unknown>;
}

export async function recordAudit(db: Db, event: AuditInput): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      tenant_id: event.tenantId,
      invitation_id: event.invitationId,
      actor: event.actor,
      action: event.action,
      data: JSON.stringify(event.data ?? {}),
    })
    .execute();
}

export async function listInvitationTimeline(db: Db, invitationId: string): Promise<AuditEvent[]> {
  return db.selectFrom('audit_events').selectAll().where('invitation_id', '=', invitationId).orderBy('id').execute();
}
