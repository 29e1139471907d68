import { sha256 } from '../lib/crypto';
import { newId } from '../lib/ids';
import { newSecret } from '../lib/crypto';
import type { Db } from './connect';

export const hashApiKey = sha256;

export interface ApiKeyPrincipal {
  keyId: string;
  tenantId: string;
  userId: string;
}

/** Creates a key and returns its secret: the only time it is ever visible. */
export async function createApiKey(
  db: Db,
  input: { tenantId: string; userId: string; name: string; secret?: string },
): Promise<{ id: string; secret: string }> {
  const secret = input.secret ?? `usher_${newSecret(24)}`;
  const id = newId();
  await db
    .insertInto('api_keys')
    .values({ id, tenant_id: input.tenantId, user_id: input.userId, name: input.name, key_hash: hashApiKey(secret) })
    .onConflict((oc) => oc.column('key_hash').doNothing())
    .execute();
  return { id, secret };
}

export async function findApiKeyPrincipal(db: Db, secret: string): Promise<ApiKeyPrincipal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'user_id'])
    .where('key_hash', '=', hashApiKey(secret))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row && { keyId: row.id, tenantId: row.tenant_id, userId: row.user_id };
}
