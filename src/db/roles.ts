import type { Updateable } from 'kysely';
import { newId } from '../lib/ids';
import type { Db } from './connect';
import type { Role, RolesTable } from './database';

export type RoleChanges = Updateable<Pick<RolesTable, 'slug' | 'name' | 'rank'>>;

export async function findRoleBySlug(db: Db, tenantId: string, slug: string): Promise<Role | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('slug', '=', slug).executeTakeFirst();
}

export async function findRoleById(db: Db, tenantId: string, roleId: string): Promise<Role | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('id', '=', roleId).executeTakeFirst();
}

/** Highest rank first. */
export async function listRoles(db: Db, tenantId: string): Promise<Role[]> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).orderBy('rank', 'desc').orderBy('slug').execute();
}

export async function insertRoles(db: Db, tenantId: string, roles: readonly { slug: string; name: string; rank: number }[]): Promise<Role[]> {
  if (roles.length === 0) return [];
  return db
    .insertInto('roles')
    .values(roles.map((r) => ({ id: newId(), tenant_id: tenantId, slug: r.slug, name: r.name, rank: r.rank })))
    .returningAll()
    .execute();
}

export async function updateRoleRow(db: Db, id: string, changes: RoleChanges): Promise<Role> {
  return db.updateTable('roles').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteRoleRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('roles').where('id', '=', id).execute();
}

/** What still refers to a role: the members holding it and the invitations (of any status) naming it. */
export async function countRoleUses(db: Db, roleId: string): Promise<{ members: number; invitations: number }> {
  const members = await db.selectFrom('memberships').select((eb) => eb.fn.countAll<number>().as('n')).where('role_id', '=', roleId).executeTakeFirstOrThrow();
  const invitations = await db.selectFrom('invitations').select((eb) => eb.fn.countAll<number>().as('n')).where('role_id', '=', roleId).executeTakeFirstOrThrow();
  return { members: Number(members.n), invitations: Number(invitations.n) };
}
