import { sql, type Updateable } from 'kysely';
import { newId } from '../lib/ids';
import type { Db } from './connect';
import type { Tenant, TenantsTable } from './database';

export type TenantChanges = Updateable<TenantsTable>;

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

/** The tenant, its row locked until the transaction ends. */
export async function lockTenantRow(db: Db, tenantId: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', tenantId).forUpdate().executeTakeFirst();
}

/** Newest first, continuing after (created_at, id). */
export async function listTenants(db: Db, q: { limit: number; after?: { createdAt: Date; id: string }; slug?: string }): Promise<Tenant[]> {
  let query = db.selectFrom('tenants').selectAll();
  if (q.slug) query = query.where('slug', '=', q.slug);
  if (q.after) query = query.where(sql<boolean>`(created_at, id) < (${q.after.createdAt}, ${q.after.id})`);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

export async function insertTenant(db: Db, input: { slug: string; name: string; columns: TenantChanges }): Promise<Tenant> {
  return db
    .insertInto('tenants')
    .values({ id: newId(), slug: input.slug, name: input.name, ...input.columns })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateTenantRow(db: Db, tenantId: string, changes: TenantChanges): Promise<Tenant> {
  return db.updateTable('tenants').set(changes).where('id', '=', tenantId).returningAll().executeTakeFirstOrThrow();
}
