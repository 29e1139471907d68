import { sql } from 'kysely';
import { newId } from '../lib/ids';
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

/** claimSend for several sends in two statements: each entry answers its input, in order. */
export async function claimSends(db: Db, inputs: { invitationId: string; sendKey: string; kind: string; recipient: string; messageId: string }[]): Promise<LedgerEntry[]> {
  if (inputs.length === 0) return [];
  await db
    .insertInto('email_messages')
    .values(
      inputs.map((input) => ({
        id: newId(),
        invitation_id: input.invitationId,
        send_key: input.sendKey,
        kind: input.kind,
        recipient: input.recipient,
        message_id: input.messageId,
        status: 'sending' as const,
      })),
    )
    .onConflict((oc) => oc.columns(['invitation_id', 'send_key']).doNothing())
    .execute();
  const keys = sql.join(inputs.map((input) => sql`(${input.invitationId}::uuid, ${input.sendKey}::text)`));
  const rows = await db
    .updateTable('email_messages')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where(sql<boolean>`(invitation_id, send_key) in (${keys})`)
    .returning(['id', 'message_id', 'status', 'invitation_id', 'send_key'])
    .execute();
  const byKey = new Map(rows.map((row) => [`${row.invitation_id} ${row.send_key}`, row]));
  return inputs.map((input) => {
    const row = byKey.get(`${input.invitationId} ${input.sendKey}`)!;
    return { id: row.id, messageId: row.message_id, status: row.status };
  });
}

/**
 * Moves ledger rows to sent, in one statement. Answers the ids this call moved: only the call that moved a row does
 * its follow-up bookkeeping, so it happens once.
 */
export async function markSent(db: Db, sends: { id: string; providerResponse: string }[], at: Date): Promise<Set<string>> {
  if (sends.length === 0) return new Set();
  const values = sql.join(sends.map((s) => sql`(${s.id}::uuid, ${s.providerResponse}::text)`));
  const { rows } = await sql<{ id: string }>`
    update email_messages as m set status = 'sent', provider_response = v.response, sent_at = ${at}
    from (values ${values}) as v(id, response)
    where m.id = v.id and m.status = 'sending'
    returning m.id`.execute(db);
  return new Set(rows.map((r) => r.id));
}

export async function listEmailMessages(db: Db, invitationId: string) {
  return db.selectFrom('email_messages').selectAll().where('invitation_id', '=', invitationId).orderBy('created_at').execute();
}
