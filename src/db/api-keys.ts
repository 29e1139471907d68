import { newSecret, sha256 } from '../lib/crypto';
import { newId } from '../lib/ids';
import type { Db } from './connect';
import type { ApiKeyKind, ApiKeyScope } from './database';

export const hashApiKey = sha256;

export interface ApiKeyPrincipal {
  keyId: string;
  tenantId: string;
  userId: string;
  kind: ApiKeyKind;
  scopes: readonly ApiKeyScope[];
  /** The rank of the key's user's role now: a key whose user is no longer a member is no key at all. */
  userRank: number;
  /** The highest role rank this key may grant: a server key's ceiling (never above its maker's rank), else the user's. */
  ceilingRank: number;
}

/** A key as management shows it: with its user's email, never its hash. */
export interface ApiKeyRow {
  id: string;
  name: string;
  user_id: string;
  user_email: string;
  kind: ApiKeyKind;
  scopes: ApiKeyScope[];
  max_rank: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

/** The one place an API key's secret is made. */
export const newApiKeySecret = (): string => `usher_${newSecret(24)}`;

/** A key just stored, with its secret. */
export type InsertedApiKey = Omit<ApiKeyRow, 'user_email'> & { secret: string };

const storedColumns = ['id', 'name', 'user_id', 'kind', 'scopes', 'max_rank', 'created_at', 'revoked_at'] as const;
const listedColumns = [
  'api_keys.id',
  'api_keys.name',
  'api_keys.user_id',
  'users.email as user_email',
  'api_keys.kind',
  'api_keys.scopes',
  'api_keys.max_rank',
  'api_keys.created_at',
  'api_keys.revoked_at',
] as const;

/**
 * Stores a key under a new secret, or the one given, and returns it with the secret: the only time that is visible,
 * since only its SHA-256 is stored.
 */
export interface ApiKeyGrant {
  kind?: ApiKeyKind;
  scopes?: readonly ApiKeyScope[];
  maxRank?: number | null;
}

/** Least privilege unless asked: a member key that reads and writes invitations. */
export const DEFAULT_SCOPES: readonly ApiKeyScope[] = ['invitations:read', 'invitations:write'];

export async function insertApiKey(db: Db, input: { tenantId: string; userId: string; name: string; secret?: string } & ApiKeyGrant): Promise<InsertedApiKey> {
  const secret = input.secret ?? newApiKeySecret();
  const keyHash = hashApiKey(secret);
  const insert = db
    .insertInto('api_keys')
    .values({
      id: newId(),
      tenant_id: input.tenantId,
      user_id: input.userId,
      name: input.name,
      key_hash: keyHash,
      kind: input.kind ?? 'member',
      scopes: [...(input.scopes ?? DEFAULT_SCOPES)],
      max_rank: input.kind === 'server' ? (input.maxRank ?? null) : null,
    })
    .returning(storedColumns);
  if (input.secret === undefined) return { ...(await insert.executeTakeFirstOrThrow()), secret };
  // A given secret comes from the dev seed, which stores the same one on every start: the key it has stays.
  const row =
    (await insert.onConflict((oc) => oc.column('key_hash').doNothing()).executeTakeFirst()) ??
    (await db.selectFrom('api_keys').select(storedColumns).where('key_hash', '=', keyHash).executeTakeFirstOrThrow());
  return { ...row, secret };
}

/** Creates a key and returns its secret: the only time it is ever visible. */
export async function createApiKey(
  db: Db,
  input: { tenantId: string; userId: string; name: string; secret?: string } & ApiKeyGrant,
): Promise<{ id: string; secret: string }> {
  const { id, secret } = await insertApiKey(db, input);
  return { id, secret };
}

/** A live key whose user is still a member of the key's tenant; anything else is no principal. */
export async function findApiKeyPrincipal(db: Db, secret: string): Promise<ApiKeyPrincipal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('memberships', (join) => join.onRef('memberships.tenant_id', '=', 'api_keys.tenant_id').onRef('memberships.user_id', '=', 'api_keys.user_id'))
    .innerJoin('roles', 'roles.id', 'memberships.role_id')
    .select(['api_keys.id', 'api_keys.tenant_id', 'api_keys.user_id', 'api_keys.kind', 'api_keys.scopes', 'api_keys.max_rank', 'roles.rank'])
    .where('api_keys.key_hash', '=', hashApiKey(secret))
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  const ceiling = row.kind === 'server' && row.max_rank !== null ? row.max_rank : row.rank;
  return { keyId: row.id, tenantId: row.tenant_id, userId: row.user_id, kind: row.kind, scopes: row.scopes, userRank: row.rank, ceilingRank: ceiling };
}

/** Every live key of a user in a tenant dies with their membership: same transaction as its removal. */
export async function revokeKeysOfUser(db: Db, tenantId: string, userId: string, at: Date): Promise<number> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The tenant's keys, newest first. */
export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([...listedColumns])
    .where('api_keys.tenant_id', '=', tenantId)
    .orderBy('api_keys.created_at', 'desc')
    .orderBy('api_keys.id', 'desc')
    .execute();
}

export async function findApiKey(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').innerJoin('users', 'users.id', 'api_keys.user_id').select([...listedColumns]).where('api_keys.id', '=', id).executeTakeFirst();
}

/** Locks the key's row for the rest of the transaction; `tenantId` undefined finds it in any tenant. */
export async function lockApiKey(db: Db, q: { id: string; tenantId?: string }): Promise<{ id: string; tenant_id: string; revoked_at: Date | null } | undefined> {
  let query = db.selectFrom('api_keys').select(['id', 'tenant_id', 'revoked_at']).where('id', '=', q.id);
  if (q.tenantId) query = query.where('tenant_id', '=', q.tenantId);
  return query.forUpdate().executeTakeFirst();
}

export async function markApiKeyRevoked(db: Db, id: string): Promise<void> {
  await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();
}
