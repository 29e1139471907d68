import { recordAudit } from '../db/audit';
import type { Db } from '../db/connect';
import type { Role } from '../db/database';
import { UsherError } from '../lib/errors';
import { newId } from '../lib/ids';
import { assertTopRankHeld, lockTenant, managerIds } from './access';
import { conflict, forbidden, mapConflicts } from './problems';

export interface RoleInput {
  slug: string;
  name: string;
  rank: number;
}

/** Who is acting: for the check that nobody creates or lifts a role above their own rank. Undefined = the operator. */
export interface Actor {
  actor: string;
  rank?: number;
}

export const DEFAULT_ROLES: readonly RoleInput[] = [
  { slug: 'owner', name: 'Owner', rank: 100 },
  { slug: 'admin', name: 'Admin', rank: 50 },
  { slug: 'member', name: 'Member', rank: 10 },
];

export async function listRoles(db: Db, tenantId: string): Promise<Role[]> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).orderBy('rank', 'desc').orderBy('slug').execute();
}

export async function findRole(db: Db, tenantId: string, id: string): Promise<Role> {
  const role = await db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!role) throw new UsherError('not-found', 'no such role');
  return role;
}

function checkRank(rank: number, by: Actor): void {
  if (by.rank !== undefined && rank > by.rank) throw forbidden(`rank ${rank} is above your own role's rank (${by.rank})`);
}

/** Inserts roles for a tenant (its creation, or one more role). No checks: callers hold the lock and check. */
export async function insertRoles(db: Db, tenantId: string, roles: readonly RoleInput[]): Promise<Role[]> {
  if (roles.length === 0) return [];
  return db
    .insertInto('roles')
    .values(roles.map((r) => ({ id: newId(), tenant_id: tenantId, slug: r.slug, name: r.name, rank: r.rank })))
    .returningAll()
    .execute();
}

export async function createRole(db: Db, tenantId: string, input: RoleInput, by: Actor): Promise<Role> {
  checkRank(input.rank, by);
  return mapConflicts(() =>
    db.transaction().execute(async (tx) => {
      await lockTenant(tx, tenantId);
      const [role] = await insertRoles(tx, tenantId, [input]);
      await assertTopRankHeld(tx, tenantId);
      await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'role.created', data: { roleId: role!.id, ...input } });
      return role!;
    }),
  );
}

/**
 * Renaming a role's slug carries the tenant's default role along. A rank may not rise above the caller's, nor fall so
 * that members who manage the tenant stop doing so (memberships are the way to hand management over).
 */
export async function updateRole(db: Db, tenantId: string, id: string, patch: Partial<RoleInput>, by: Actor): Promise<Role> {
  if (patch.rank !== undefined) checkRank(patch.rank, by);
  return mapConflicts(() =>
    db.transaction().execute(async (tx) => {
      const tenant = await lockTenant(tx, tenantId);
      const role = await findRole(tx, tenantId, id);
      const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<RoleInput>;
      if (Object.keys(changes).length === 0) return role;
      const managersBefore = await managerIds(tx, tenantId);
      const updated = await tx.updateTable('roles').set(changes).where('id', '=', role.id).returningAll().executeTakeFirstOrThrow();
      if (changes.slug && tenant.default_role_slug === role.slug) {
        await tx.updateTable('tenants').set({ default_role_slug: changes.slug }).where('id', '=', tenantId).execute();
      }
      await assertTopRankHeld(tx, tenantId);
      const managersAfter = await managerIds(tx, tenantId);
      if ([...managersBefore].some((id) => !managersAfter.has(id))) {
        throw conflict("this rank would take the right to manage the tenant from this role's members; change their memberships instead");
      }
      await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'role.updated', data: { roleId: role.id, ...changes } });
      return updated;
    }),
  );
}

/** Only a role nobody holds, no invitation names, and that is not the tenant's default can go. */
export async function deleteRole(db: Db, tenantId: string, id: string, by: Actor): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const tenant = await lockTenant(tx, tenantId);
    const role = await findRole(tx, tenantId, id);
    if (tenant.default_role_slug === role.slug) {
      throw conflict(`role ${role.slug} is the tenant's default role; set another defaultRoleSlug first`);
    }
    const members = await tx.selectFrom('memberships').select((eb) => eb.fn.countAll<number>().as('n')).where('role_id', '=', role.id).executeTakeFirstOrThrow();
    const invitations = await tx.selectFrom('invitations').select((eb) => eb.fn.countAll<number>().as('n')).where('role_id', '=', role.id).executeTakeFirstOrThrow();
    if (Number(members.n) > 0 || Number(invitations.n) > 0) {
      throw conflict(`role ${role.slug} is in use: held by ${members.n} member(s), named by ${invitations.n} invitation(s)`, {
        members: Number(members.n),
        invitations: Number(invitations.n),
      });
    }
    await tx.deleteFrom('roles').where('id', '=', role.id).execute();
    await assertTopRankHeld(tx, tenantId);
    await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'role.deleted', data: { roleId: role.id, slug: role.slug } });
  });
}
