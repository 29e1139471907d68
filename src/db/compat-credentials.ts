import { hashSecret, sha256, verifySecret } from '../lib/crypto';
import { newId } from '../lib/ids';
import type { Db } from './connect';
import type { Selectable } from 'kysely';
import type { CompatCredentialKind, CompatCredentialsTable } from './database';

export interface CompatPrincipal {
  credentialId: string;
  tenantId: string;
  userId: string | null;
  data: Record<string, unknown>;
}

/**
 * Secret-bearing credentials of the seed APIs. Two shapes:
 *  - identifier + secret (Mendix environment UUID + password, Quickbase username + password, SAP client id + secret):
 *    `lookup` is the identifier, the secret is hashed;
 *  - bearer tokens (Quickbase user tokens, tickets and app tokens, Akana sessions): `lookup` is the token's SHA-256.
 */
export interface CredentialRow {
  tenantId: string;
  kind: CompatCredentialKind;
  lookup: string;
  secretHash: string | null;
  userId: string | null;
  data?: Record<string, unknown>;
  expiresAt?: Date | null;
}

/** Stores one credential; the same (tenant, kind, lookup) again replaces it and brings it back if revoked, keeping its id. */
export async function upsertCredential(db: Db, input: CredentialRow): Promise<Selectable<CompatCredentialsTable>> {
  const values = {
    secret_hash: input.secretHash,
    user_id: input.userId,
    data: JSON.stringify(input.data ?? {}),
    expires_at: input.expiresAt ?? null,
    revoked_at: null,
  };
  return db
    .insertInto('compat_credentials')
    .values({ id: newId(), tenant_id: input.tenantId, kind: input.kind, lookup: input.lookup, ...values })
    .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'lookup']).doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function addCredential(
  db: Db,
  input: {
    tenantId: string;
    kind: CompatCredentialKind;
    identifier?: string;
    secret?: string;
    token?: string;
    userId?: string | null;
    data?: Record<string, unknown>;
    expiresAt?: Date | null;
    strength?: 'generated' | 'password';
  },
): Promise<string> {
  const row = await upsertCredential(db, {
    tenantId: input.tenantId,
    kind: input.kind,
    lookup: input.token !== undefined ? sha256(input.token) : input.identifier!,
    secretHash: input.secret !== undefined ? hashSecret(input.secret, input.strength ?? 'generated') : null,
    userId: input.userId ?? null,
    data: input.data,
    expiresAt: input.expiresAt,
  });
  return row.id;
}

export interface Scope {
  /** Where the request already names its tenant (Quickbase dbid, Mendix environment), only its credentials count. */
  tenantId?: string;
  now?: Date;
}

/** Live rows for a lookup; without a tenant scope the same identifier may exist in several tenants. */
async function findLive(db: Db, kind: CompatCredentialKind, lookup: string, scope: Scope) {
  const now = scope.now ?? new Date();
  let query = db.selectFrom('compat_credentials').selectAll().where('kind', '=', kind).where('lookup', '=', lookup).where('revoked_at', 'is', null);
  if (scope.tenantId) query = query.where('tenant_id', '=', scope.tenantId);
  const rows = await query.limit(10).execute();
  return rows.filter((row) => !row.expires_at || row.expires_at > now);
}

const principal = (row: Awaited<ReturnType<typeof findLive>>[number]): CompatPrincipal => ({
  credentialId: row.id,
  tenantId: row.tenant_id,
  userId: row.user_id,
  data: row.data,
});

/** Identifier + secret; undefined when either is wrong (callers must not tell which). The secret picks the row. */
export async function verifyIdentifierSecret(
  db: Db,
  kind: CompatCredentialKind,
  identifier: string,
  secret: string,
  scope: Scope = {},
): Promise<CompatPrincipal | undefined> {
  const row = (await findLive(db, kind, identifier, scope)).find((r) => verifySecret(secret, r.secret_hash));
  return row && principal(row);
}

/** A bearer-style token. One that several tenants hold is refused unless the request names its tenant. */
export async function verifyToken(db: Db, kind: CompatCredentialKind, token: string, scope: Scope = {}): Promise<CompatPrincipal | undefined> {
  const rows = await findLive(db, kind, sha256(token), scope);
  return rows.length === 1 ? principal(rows[0]!) : undefined;
}

/** The tenants (at most `limit`) holding a live credential of this kind under this lookup. */
export async function tenantsWithLiveCredential(
  db: Db,
  q: { kind: CompatCredentialKind; lookup: string; now: Date; except?: string; limit: number },
): Promise<string[]> {
  let query = db
    .selectFrom('compat_credentials')
    .select('tenant_id')
    .distinct()
    .where('kind', '=', q.kind)
    .where('lookup', '=', q.lookup)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', q.now)]));
  if (q.except) query = query.where('tenant_id', '<>', q.except);
  const rows = await query.limit(q.limit).execute();
  return rows.map((r) => r.tenant_id);
}
