import { type ApiKeyRow, findApiKey, insertApiKey, lockApiKey, markApiKeyRevoked } from '../../db/api-keys';
import { recordAudit } from '../../db/audit';
import type { Db } from '../../db/connect';
import { findUserById } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { lockTenant } from '../access';
import { invalidField } from '../problems';

export interface IssuedApiKey extends ApiKeyRow {
  secret: string;
}

/**
 * A new key for a user of the tenant. The secret is returned here and never again: only its SHA-256 is stored.
 * Call inside a transaction when other rows change with it.
 */
export async function issueApiKey(db: Db, input: { tenantId: string; userId: string; name: string; actor: string }): Promise<IssuedApiKey> {
  const user = await findUserById(db, input.tenantId, input.userId);
  if (!user) throw invalidField('userId', 'no such user in this tenant');
  const key = await insertApiKey(db, { tenantId: input.tenantId, userId: user.id, name: input.name });
  await recordAudit(db, { tenantId: input.tenantId, invitationId: null, actor: input.actor, action: 'api-key.created', data: { apiKeyId: key.id, userId: user.id, name: input.name } });
  return { ...key, user_email: user.email };
}

/** issueApiKey in its own transaction. */
export async function createApiKeyFor(db: Db, input: { tenantId: string; userId: string; name: string; actor: string }): Promise<IssuedApiKey> {
  return db.transaction().execute(async (tx) => {
    await lockTenant(tx, input.tenantId);
    return issueApiKey(tx, input);
  });
}

/**
 * Revokes a key: from the next request on, it gets 401. Revoking a revoked key changes nothing. `tenantId` undefined
 * (the operator's CLI) finds the key in any tenant.
 */
export async function revokeApiKey(db: Db, input: { tenantId?: string; id: string; actor: string }): Promise<ApiKeyRow> {
  return db.transaction().execute(async (tx) => {
    const key = await lockApiKey(tx, { id: input.id, tenantId: input.tenantId });
    if (!key) throw new UsherError('not-found', 'no such API key');
    if (!key.revoked_at) {
      await markApiKeyRevoked(tx, key.id);
      await recordAudit(tx, { tenantId: key.tenant_id, invitationId: null, actor: input.actor, action: 'api-key.revoked', data: { apiKeyId: key.id } });
    }
    const revoked = await findApiKey(tx, key.id);
    if (!revoked) throw new UsherError('not-found', 'no such API key');
    return revoked;
  });
}
