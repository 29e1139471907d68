import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { hashPassword, hashSecret, needsRehash, sha256, verifySecret } from '../lib/crypto';
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
    secretHash: input.secret === undefined ? null : input.strength === 'password' ? await hashPassword(input.secret) : hashSecret(input.secret, 'generated'),
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

/** Kinds whose secret a person chose: scrypt-hashed, and worth guessing, so a miss costs as much as a hit. */
const PASSWORD_KINDS: ReadonlySet<CompatCredentialKind> = new Set(['quickbase-password', 'akana-password']);
/** Verified when no row matches, so an unknown identifier takes as long as a wrong password (no user enumeration). */
let decoy: Promise<string> | undefined;

/**
 * Identifier + secret; undefined when either is wrong (callers must not tell which). The secret picks the row. A
 * password hashed at an older cost is re-hashed at today's once it has been proven right.
 */
export async function verifyIdentifierSecret(
  db: Db,
  kind: CompatCredentialKind,
  identifier: string,
  secret: string,
  scope: Scope = {},
): Promise<CompatPrincipal | undefined> {
  const rows = await findLive(db, kind, identifier, scope);
  if (rows.length === 0 && PASSWORD_KINDS.has(kind)) {
    decoy ??= hashPassword('decoy');
    await verifySecret(secret, await decoy);
    return undefined;
  }
  for (const row of rows) {
    if (!(await verifySecret(secret, row.secret_hash))) continue;
    if (row.secret_hash && needsRehash(row.secret_hash)) await rehash(db, row.id, row.secret_hash, secret);
    return principal(row);
  }
  return undefined;
}

/** Replaces the hash only if it is still the one verified, so a password changed meanwhile is never overwritten. */
async function rehash(db: Db, id: string, verified: string, secret: string): Promise<void> {
  await db
    .updateTable('compat_credentials')
    .set({ secret_hash: await hashPassword(secret) })
    .where('id', '=', id)
    .where('secret_hash', '=', verified)
    .execute();
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

/**
 * What the text stored as a Royalti workspace key (`tenants.royalti_jwt_key`) is, judged by its content alone:
 *  - `public-key`: a PEM public key (SPKI or PKCS#1) or certificate;
 *  - `public-key-without-pem`: the base64 body of one, without its PEM header. It must never be used as an HMAC
 *    secret: anyone holding the public key could then mint tokens;
 *  - `not-a-public-key`: PEM text that holds no public key (a private key, say);
 *  - `secret`: anything else, usable only as an HMAC secret.
 * Both the tenant settings (when a key is set) and the Royalti adapter (when a key is used) judge with this.
 */
export type RoyaltiKeyText = 'public-key' | 'public-key-without-pem' | 'not-a-public-key' | 'secret';

export function classifyRoyaltiKey(text: string): RoyaltiKeyText {
  if (text.includes('-----BEGIN')) {
    if (/-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----/.test(text)) return 'not-a-public-key';
    return parsesAsPublicKey(() => (text.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(text).publicKey : createPublicKey(text)))
      ? 'public-key'
      : 'not-a-public-key';
  }
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return 'secret';
  const der = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  // A DER SEQUENCE starts with 0x30; a random secret rarely decodes to one, and never to a key that parses.
  if (der[0] !== 0x30) return 'secret';
  const asKey = [
    () => createPublicKey({ key: der, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
    () => new X509Certificate(der).publicKey,
  ];
  return asKey.some(parsesAsPublicKey) ? 'public-key-without-pem' : 'secret';
}

function parsesAsPublicKey(parse: () => KeyObject): boolean {
  try {
    return parse().type === 'public';
  } catch {
    return false;
  }
}
