import type { Db } from './connect';
import type { CompatCredentialKind } from './database';

/** A credential as management shows it: never its secret's hash or data. */
export interface CompatCredentialRow {
  id: string;
  kind: string;
  lookup: string;
  user_id: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

const rowColumns = ['id', 'kind', 'lookup', 'user_id', 'expires_at', 'revoked_at', 'created_at'] as const;

/** The tenant's credentials, revoked ones too, newest first. */
export async function listTenantCredentials(db: Db, tenantId: string): Promise<CompatCredentialRow[]> {
  return db.selectFrom('compat_credentials').select([...rowColumns]).where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

/** Locks the credential's row for the rest of the transaction. */
export async function lockCredential(db: Db, tenantId: string, id: string): Promise<{ id: string; kind: CompatCredentialKind; revoked_at: Date | null } | undefined> {
  return db.selectFrom('compat_credentials').select(['id', 'kind', 'revoked_at']).where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function markCredentialRevoked(db: Db, id: string): Promise<void> {
  await db.updateTable('compat_credentials').set({ revoked_at: new Date() }).where('id', '=', id).execute();
}

/** Revokes the live credentials of a Mendix environment the tenant no longer uses. */
export async function revokeMendixEnvironmentCredentials(db: Db, tenantId: string, environmentUuid: string): Promise<void> {
  await db
    .updateTable('compat_credentials')
    .set({ revoked_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', 'mendix-environment')
    .where('lookup', '=', environmentUuid)
    .where('revoked_at', 'is', null)
    .execute();
}
