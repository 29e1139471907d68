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
  await recordAudits(db, [event]);
}

/** Several events in one statement. */
export async function recordAudits(db: Db, events: AuditInput[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('audit_events')
    .values(events.map(auditRow))
    .execute();
}

/** An event as its table stores it. */
export const auditRow = (e: AuditInput) => ({ tenant_id: e.tenantId, invitation_id: e.invitationId, actor: e.actor, action: e.action, data: JSON.stringify(e.data ?? {}) });

export async function listInvitationTimeline(db: Db, invitationId: string): Promise<AuditEvent[]> {
  return db.selectFrom('audit_events').selectAll().where('invitation_id', '=', invitationId).orderBy('id').execute();
}
