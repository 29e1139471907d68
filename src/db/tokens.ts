import type { Db } from './connect';

export interface NewToken {
  invitationId: string;
  generation: number;
  tokenHash: string;
  keyId?: string | null;
}

/** A token as its table stores it. */
export const tokenRow = (t: NewToken) => ({ token_hash: t.tokenHash, invitation_id: t.invitationId, generation: t.generation, key_id: t.keyId ?? null });

export async function insertToken(db: Db, input: NewToken): Promise<void> {
  await db
    .insertInto('invitation_tokens')
    .values(tokenRow(input))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export interface TokenRecord {
  invitationId: string;
  tenantId: string;
  generation: number;
  usable: boolean;
}

export async function findToken(db: Db, tokenHash: string, now: Date): Promise<TokenRecord | undefined> {
  const row = await db
    .selectFrom('invitation_tokens')
    .innerJoin('invitations', 'invitations.id', 'invitation_tokens.invitation_id')
    .select([
      'invitation_tokens.invitation_id',
      'invitation_tokens.generation',
      'invitation_tokens.consumed_at',
      'invitation_tokens.revoked_at',
      'invitations.tenant_id',
      'invitations.status',
      'invitations.expires_at',
    ])
    .where('invitation_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    invitationId: row.invitation_id,
    tenantId: row.tenant_id,
    generation: row.generation,
    usable: row.consumed_at === null && row.revoked_at === null && row.status === 'pending' && row.expires_at > now,
  };
}

/** Older generations die when a new link is issued. */
export async function revokeTokensBefore(db: Db, invitationId: string, generation: number, at: Date): Promise<void> {
  await db
    .updateTable('invitation_tokens')
    .set({ revoked_at: at })
    .where('invitation_id', '=', invitationId)
    .where('generation', '<', generation)
    .where('revoked_at', 'is', null)
    .where('consumed_at', 'is', null)
    .execute();
}

/** When an invitation is decided, its live link is consumed (accepted) or revoked (anything else). */
export async function closeTokens(db: Db, invitationId: string, how: 'consumed' | 'revoked', at: Date): Promise<void> {
  await db
    .updateTable('invitation_tokens')
    .set(how === 'consumed' ? { consumed_at: at } : { revoked_at: at })
    .where('invitation_id', '=', invitationId)
    .where('revoked_at', 'is', null)
    .where('consumed_at', 'is', null)
    .execute();
}

/** Which ring key derived this generation's link (null: the single key of before the ring). */
export async function tokenKeyOf(db: Db, invitationId: string, generation: number): Promise<string | null> {
  const row = await db
    .selectFrom('invitation_tokens')
    .select('key_id')
    .where('invitation_id', '=', invitationId)
    .where('generation', '=', generation)
    .executeTakeFirst();
  return row?.key_id ?? null;
}
