import { sql } from 'kysely';
import { newId } from '../lib/ids';
import { type AuditInput, auditRow } from './audit';
import type { Db } from './connect';

export interface LedgerEntry {
  id: string;
  messageId: string;
  status: 'sending' | 'sent';
}

/** Claims the ledger row for one send: the same (invitation, send key) always gets the same row and Message-ID. */
export async function claimSend(
  db: Db,
  input: { invitationId: string; sendKey: string; kind: string; recipient: string; messageId: string },
): Promise<LedgerEntry> {
  const [entry] = await claimSends(db, [input]);
  return entry!;
}

/**
 * claimSend for several sends in one statement: each entry answers its input, in order. A new row is claimed with its
 * first attempt; a row already there counts one attempt more and answers as it stands (`sent` for a repeat).
 */
export async function claimSends(db: Db, inputs: { invitationId: string; sendKey: string; kind: string; recipient: string; messageId: string }[]): Promise<LedgerEntry[]> {
  if (inputs.length === 0) return [];
  // One claim per key: a statement's upsert may not touch a row twice.
  const unique = [...new Map(inputs.map((input) => [`${input.invitationId} ${input.sendKey}`, input])).values()];
  const rows = await db
    .insertInto('email_messages')
    .values(
      unique.map((input) => ({
        id: newId(),
        invitation_id: input.invitationId,
        send_key: input.sendKey,
        kind: input.kind,
        recipient: input.recipient,
        message_id: input.messageId,
        status: 'sending' as const,
        attempts: 1,
      })),
    )
    .onConflict((oc) => oc.columns(['invitation_id', 'send_key']).doUpdateSet((eb) => ({ attempts: eb('email_messages.attempts', '+', 1) })))
    .returning(['id', 'message_id', 'status', 'invitation_id', 'send_key'])
    .execute();
  const byKey = new Map(rows.map((row) => [`${row.invitation_id} ${row.send_key}`, row]));
  return inputs.map((input) => {
    const row = byKey.get(`${input.invitationId} ${input.sendKey}`)!;
    return { id: row.id, messageId: row.message_id, status: row.status };
  });
}

/**
 * Moves ledger rows to sent and, for each row it moved, writes its audit event, in one statement. Answers the ids it
 * moved: only the call that moved a row does its follow-up bookkeeping, so it happens once.
 */
export async function markSent(db: Db, sends: { id: string; providerResponse: string; audit: AuditInput }[], at: Date): Promise<Set<string>> {
  if (sends.length === 0) return new Set();
  const values = sql.join(
    sends.map((s) => {
      const row = auditRow(s.audit);
      return sql`(${s.id}::uuid, ${s.providerResponse}::text, ${row.tenant_id}::uuid, ${row.invitation_id}::uuid, ${row.actor}::text, ${row.action}::text, ${row.data}::jsonb)`;
    }),
  );
  const { rows } = await sql<{ id: string }>`
    with v (id, response, tenant_id, invitation_id, actor, action, data) as (values ${values}),
    moved as (
      update email_messages as m set status = 'sent', provider_response = v.response, sent_at = ${at}
        from v
       where m.id = v.id and m.status = 'sending'
      returning m.id),
    audited as (
      insert into audit_events (tenant_id, invitation_id, actor, action, data)
      select v.tenant_id, v.invitation_id, v.actor, v.action, v.data from v join moved on moved.id = v.id)
    select id from moved`.execute(db);
  return new Set(rows.map((r) => r.id));
}

export async function listEmailMessages(db: Db, invitationId: string) {
  return db.selectFrom('email_messages').selectAll().where('invitation_id', '=', invitationId).orderBy('created_at').execute();
}
