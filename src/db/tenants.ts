import type { Db } from './connect';
import type { Role, Tenant } from './database';

export async function findTenant(db: Db, tenantId: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
}

export async function findTenantBySlug(db: Db, slug: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
}

/** The tenant a Quickbase application (dbid) stands for. */
export async function findTenantByQuickbaseDbid(db: Db, dbid: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('quickbase_dbid', '=', dbid).executeTakeFirst();
}

/** The tenant a Royalti workspace stands for. */
export async function findTenantByRoyaltiWorkspace(db: Db, workspaceId: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('royalti_workspace_id', '=', workspaceId).executeTakeFirst();
}

export async function findRoleBySlug(db: Db, tenantId: string, slug: string): Promise<Role | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('slug', '=', slug).executeTakeFirst();
}

export async function findRoleById(db: Db, tenantId: string, roleId: string): Promise<Role | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('id', '=', roleId).executeTakeFirst();
}

/** The rank of the user's role in the tenant, or undefined when the user is not a member. */
export async function findMembershipRank(db: Db, tenantId: string, userId: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('memberships')
    .innerJoin('roles', 'roles.id', 'memberships.role_id')
    .select('roles.rank')
    .where('memberships.tenant_id', '=', tenantId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst();
  return row?.rank;
}
