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
  await db
    .insertInto('email_messages')
    .values({
      id: newId(),
      invitation_id: input.invitationId,
      send_key: input.sendKey,
      kind: input.kind,
      recipient: input.recipient,
      message_id: input.messageId,
      status: 'sending',
    })
    .onConflict((oc) => oc.columns(['invitation_id', 'send_key']).doNothing())
    .execute();
  const row = await db
    .updateTable('email_messages')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('invitation_id', '=', input.invitationId)
    .where('send_key', '=', input.sendKey)
    .returning(['id', 'message_id', 'status'])
    .executeTakeFirstOrThrow();
  return { id: row.id, messageId: row.message_id, status: row.status };
}

/** Returns true only for the call that moved the row to sent, so follow-up bookkeeping happens once. */
export async function markSent(db: Db, id: string, providerResponse: string, at: Date): Promise<boolean> {
  const row = await db
    .updateTable('email_messages')
    .set({ status: 'sent', provider_response: providerResponse, sent_at: at })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function listEmailMessages(db: Db, invitationId: string) {
  return db.selectFrom('email_messages').selectAll().where('invitation_id', '=', invitationId).orderBy('created_at').execute();
}
