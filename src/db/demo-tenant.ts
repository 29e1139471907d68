import { sql } from 'kysely';
import type { Db } from './connect';
import type { Tenant } from './database';
import { newId } from '../lib/ids';

/**
 * The rows of `usher dev`'s demo tenant, written so that every start can repeat them: what exists is kept, what an
 * older data folder lacks is added.
 */
export async function upsertDemoTenant(db: Db, input: { slug: string; name: string; homeUrl: string; allowedRedirectHosts: string[] }): Promise<Tenant> {
  await db
    .insertInto('tenants')
    .values({ id: newId(), slug: input.slug, name: input.name, home_url: input.homeUrl, allowed_redirect_hosts: input.allowedRedirectHosts })
    .onConflict((oc) =>
      // A data folder from an older start gains hosts added since, and keeps any an operator added.
      oc.column('slug').doUpdateSet({ allowed_redirect_hosts: sql<string[]>`array(select distinct unnest(tenants.allowed_redirect_hosts || excluded.allowed_redirect_hosts))` }),
    )
    .execute();
  return db.selectFrom('tenants').selectAll().where('slug', '=', input.slug).executeTakeFirstOrThrow();
}

/** The role's id, creating it when the tenant has no role with this slug. */
export async function ensureRole(db: Db, tenantId: string, role: { slug: string; name: string; rank: number }): Promise<string> {
  await db
    .insertInto('roles')
    .values({ id: newId(), tenant_id: tenantId, ...role })
    .onConflict((oc) => oc.columns(['tenant_id', 'slug']).doNothing())
    .execute();
  return (await db.selectFrom('roles').select('id').where('tenant_id', '=', tenantId).where('slug', '=', role.slug).executeTakeFirstOrThrow()).id;
}

/** A membership that is kept as it is when the user already has one. */
export async function ensureMembership(db: Db, input: { tenantId: string; userId: string; roleId: string }): Promise<void> {
  await db
    .insertInto('memberships')
    .values({ tenant_id: input.tenantId, user_id: input.userId, role_id: input.roleId, invitation_id: null })
    .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
    .execute();
}

export async function findTenantById(db: Db, id: string): Promise<Tenant> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** The identifiers and keys by which each seed API finds this tenant; the Royalti key is an HMAC secret. */
export async function setSeedIdentities(
  db: Db,
  tenantId: string,
  input: { mendixEnvironmentUuid: string; quickbaseDbid: string; royaltiWorkspaceId: string; royaltiJwtKey: string },
): Promise<void> {
  await db
    .updateTable('tenants')
    .set({
      mendix_environment_uuid: input.mendixEnvironmentUuid,
      quickbase_dbid: input.quickbaseDbid,
      quickbase_requires_app_token: true,
      akana_requires_csrf: true,
      royalti_workspace_id: input.royaltiWorkspaceId,
      royalti_jwt_key: input.royaltiJwtKey,
      royalti_jwt_key_kind: 'hmac-secret',
    })
    .where('id', '=', tenantId)
    .execute();
}

/** An external id for a user; with `onlyIfUnset`, one already given is kept. */
export async function setUserExternalId(db: Db, userId: string, externalId: string, options: { onlyIfUnset?: boolean } = {}): Promise<void> {
  let query = db.updateTable('users').set({ external_id: externalId }).where('id', '=', userId);
  if (options.onlyIfUnset) query = query.where('external_id', 'is', null);
  await query.execute();
}
