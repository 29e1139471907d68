import { recordAudit } from '../../db/audit';
import { type CompatCredentialRow, lockCredential, markCredentialRevoked } from '../../db/compat-credential-admin';
import { type CredentialRow, upsertCredential } from '../../db/compat-credentials';
import type { Db } from '../../db/connect';
import { updateTenantRow } from '../../db/tenants';
import { findUserById } from '../../db/users';
import { hashSecret, newSecret, sha256 } from '../../lib/crypto';
import { UsherError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { lockTenant } from '../access';
import { invalidField } from '../problems';
import type { CreateCompatCredentialBody } from './schemas';

export interface IssuedCredential {
  credential: CompatCredentialRow;
  /** Shown once: only hashes are stored. */
  secrets: Record<string, string>;
}

/** Stores one credential through the shared upsert; only the columns a view may show leave this module. */
async function store(db: Db, input: CredentialRow): Promise<CompatCredentialRow> {
  const { id, kind, lookup, user_id, expires_at, revoked_at, created_at } = await upsertCredential(db, input);
  return { id, kind, lookup, user_id, expires_at, revoked_at, created_at };
}

/**
 * Issues (or, for a Quickbase app token, sets) a credential for one of the seed APIs, acting as a user of the tenant:
 *  - mendix-environment: a new password for the tenant's Mendix environment (whose UUID is created on first use);
 *    issuing again replaces the password;
 *  - quickbase-user-token: a user token; quickbase-app-token: the app token given, or a generated one;
 *  - sap-client: a client id and secret for HTTP Basic;
 *  - akana-session: a session cookie value and its CSRF token.
 */
export async function issueCompatCredential(
  db: Db,
  tenantId: string,
  body: CreateCompatCredentialBody,
  by: { actor: string; userId: string },
): Promise<IssuedCredential> {
  return db.transaction().execute(async (tx) => {
    const tenant = await lockTenant(tx, tenantId);
    let userId: string | null = null;
    if (body.kind !== 'quickbase-app-token') {
      const user = await findUserById(tx, tenantId, body.userId ?? by.userId);
      if (!user) throw invalidField('userId', 'no such user in this tenant');
      userId = user.id;
    }
    const expiresAt = 'expiresAt' in body && body.expiresAt ? new Date(body.expiresAt) : null;
    let issued: IssuedCredential;
    switch (body.kind) {
      case 'mendix-environment': {
        let uuid = tenant.mendix_environment_uuid;
        if (!uuid) {
          uuid = newId();
          await updateTenantRow(tx, tenantId, { mendix_environment_uuid: uuid });
        }
        const password = newSecret(18);
        const credential = await store(tx, { tenantId, kind: body.kind, lookup: uuid, secretHash: hashSecret(password, 'generated'), userId });
        issued = { credential, secrets: { EnvironmentUUID: uuid, EnvironmentPassword: password } };
        break;
      }
      case 'quickbase-user-token': {
        const token = `b${newSecret(12)}_${newSecret(18)}`;
        const credential = await store(tx, { tenantId, kind: body.kind, lookup: sha256(token), secretHash: null, userId, expiresAt });
        issued = { credential, secrets: { usertoken: token } };
        break;
      }
      case 'quickbase-app-token': {
        const token = body.token ?? newSecret(24);
        const credential = await store(tx, { tenantId, kind: body.kind, lookup: sha256(token), secretHash: null, userId: null, expiresAt });
        issued = { credential, secrets: { apptoken: token } };
        break;
      }
      case 'sap-client': {
        // Basic auth names no tenant, so a client id must be unique everywhere: the slug plus random characters is.
        const clientId = `${tenant.slug}-${newSecret(9)}`;
        const clientSecret = newSecret(24);
        const credential = await store(tx, { tenantId, kind: body.kind, lookup: clientId, secretHash: hashSecret(clientSecret, 'generated'), userId });
        issued = { credential, secrets: { clientId, clientSecret } };
        break;
      }
      case 'akana-session': {
        const session = newSecret(24);
        const csrf = newSecret(18);
        const credential = await store(tx, { tenantId, kind: body.kind, lookup: sha256(session), secretHash: null, userId, data: { csrf }, expiresAt });
        issued = {
          credential,
          secrets: { cookie: `AtmoAuthToken_${tenant.slug}=${session}`, csrfHeader: `X-Csrf-Token_${tenant.slug}`, csrfToken: csrf },
        };
        break;
      }
    }
    await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'compat-credential.issued', data: { credentialId: issued.credential.id, kind: body.kind, userId } });
    return issued;
  });
}

/** Revokes: the seed API refuses it from the next request on. Revoking twice changes nothing. */
export async function revokeCompatCredential(db: Db, tenantId: string, id: string, actor: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await lockCredential(tx, tenantId, id);
    if (!row) throw new UsherError('not-found', 'no such credential');
    if (row.revoked_at) return;
    await markCredentialRevoked(tx, row.id);
    await recordAudit(tx, { tenantId, invitationId: null, actor, action: 'compat-credential.revoked', data: { credentialId: row.id, kind: row.kind } });
  });
}
