import { hashSecret, sha256, verifySecret } from '../invitations/secrets';
import { newId } from '../invitations/ids';
import type { Db } from './connect';
import type { CompatCredentialKind } from './database';

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
  const id = newId();
  const lookup = input.token !== undefined ? sha256(input.token) : input.identifier!;
  await db
    .insertInto('compat_credentials')
    .values({
      id,
      tenant_id: input.tenantId,
      kind: input.kind,
      lookup,
      secret_hash: input.secret !== undefined ? hashSecret(input.secret, input.strength ?? 'generated') : null,
      user_id: input.userId ?? null,
      data: JSON.stringify(input.data ?? {}),
      expires_at: input.expiresAt ?? null,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'kind', 'lookup']).doUpdateSet({
        secret_hash: input.secret !== undefined ? hashSecret(input.secret, input.strength ?? 'generated') : null,
        user_id: input.userId ?? null,
        data: JSON.stringify(input.data ?? {}),
        expires_at: input.expiresAt ?? null,
        revoked_at: null,
      }),
    )
    .execute();
  return id;
}

export interface Scope {
  /** Where the request already names its tenant (Quickbase dbid, Mendix environment), only its credentials count. */
  tenantId?: string;
  now?: Date;
}

async function findLive(db: Db, kind: CompatCredentialKind, lookup: string, scope: Scope) {
  const now = scope.now ?? new Date();
  let query = db.selectFrom('compat_credentials').selectAll().where('kind', '=', kind).where('lookup', '=', lookup).where('revoked_at', 'is', null);
  if (scope.tenantId) query = query.where('tenant_id', '=', scope.tenantId);
  const row = await query.executeTakeFirst();
  if (!row || (row.expires_at && row.expires_at <= now)) return undefined;
  return row;
}

/** Identifier + secret; undefined when either is wrong (callers must not tell which). */
export async function verifyIdentifierSecret(
  db: Db,
  kind: CompatCredentialKind,
  identifier: string,
  secret: string,
  scope: Scope = {},
): Promise<CompatPrincipal | undefined> {
  const row = await findLive(db, kind, identifier, scope);
  if (!row || !verifySecret(secret, row.secret_hash)) return undefined;
  return { credentialId: row.id, tenantId: row.tenant_id, userId: row.user_id, data: row.data };
}

export async function verifyToken(db: Db, kind: CompatCredentialKind, token: string, scope: Scope = {}): Promise<CompatPrincipal | undefined> {
  const row = await findLive(db, kind, sha256(token), scope);
  return row && { credentialId: row.id, tenantId: row.tenant_id, userId: row.user_id, data: row.data };
}
