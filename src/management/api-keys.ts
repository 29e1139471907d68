import { hashApiKey } from '../db/api-keys';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/connect';
import { UsherError } from '../lib/errors';
import { newId } from '../lib/ids';
import { newSecret } from '../lib/crypto';
import { lockTenant } from './access';
import { invalidField } from './problems';
import type { ApiKeyRow } from './views';

export interface IssuedApiKey extends ApiKeyRow {
  secret: string;
}

const keyColumns = ['api_keys.id', 'api_keys.name', 'api_keys.user_id', 'users.email as user_email', 'api_keys.created_at', 'api_keys.revoked_at'] as const;

/**
 * A new key for a user of the tenant. The secret is returned here and never again: only its SHA-256 is stored.
 * Call inside a transaction when other rows change with it.
 */
export async function issueApiKey(db: Db, input: { tenantId: string; userId: string; name: string; actor: string }): Promise<IssuedApiKey> {
  const user = await db.selectFrom('users').select(['id', 'email']).where('tenant_id', '=', input.tenantId).where('id', '=', input.userId).executeTakeFirst();
  if (!user) throw invalidField('userId', 'no such user in this tenant');
  const secret = `usher_${newSecret(24)}`;
  const row = await db
    .insertInto('api_keys')
    .values({ id: newId(), tenant_id: input.tenantId, user_id: user.id, name: input.name, key_hash: hashApiKey(secret) })
    .returning(['id', 'name', 'user_id', 'created_at', 'revoked_at'])
    .executeTakeFirstOrThrow();
  await recordAudit(db, { tenantId: input.tenantId, invitationId: null, actor: input.actor, action: 'api-key.created', data: { apiKeyId: row.id, userId: user.id, name: input.name } });
  return { ...row, user_email: user.email, secret };
}

/** issueApiKey in its own transaction. */
export async function createApiKeyFor(db: Db, input: { tenantId: string; userId: string; name: string; actor: string }): Promise<IssuedApiKey> {
  return db.transaction().execute(async (tx) => {
    await lockTenant(tx, input.tenantId);
    return issueApiKey(tx, input);
  });
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([...keyColumns])
    .where('api_keys.tenant_id', '=', tenantId)
    .orderBy('api_keys.created_at', 'desc')
    .orderBy('api_keys.id', 'desc')
    .execute();
}

/**
 * Revokes a key: from the next request on, it gets 401. Revoking a revoked key changes nothing. `tenantId` undefined
 * (the operator's CLI) finds the key in any tenant.
 */
export async function revokeApiKey(db: Db, input: { tenantId?: string; id: string; actor: string }): Promise<ApiKeyRow> {
  return db.transaction().execute(async (tx) => {
    let query = tx.selectFrom('api_keys').select(['id', 'tenant_id', 'revoked_at']).where('id', '=', input.id);
    if (input.tenantId) query = query.where('tenant_id', '=', input.tenantId);
    const key = await query.forUpdate().executeTakeFirst();
    if (!key) throw new UsherError('not-found', 'no such API key');
    if (!key.revoked_at) {
      await tx.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', key.id).execute();
      await recordAudit(tx, { tenantId: key.tenant_id, invitationId: null, actor: input.actor, action: 'api-key.revoked', data: { apiKeyId: key.id } });
    }
    return tx
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select([...keyColumns])
      .where('api_keys.id', '=', key.id)
      .executeTakeFirstOrThrow();
  });
}
