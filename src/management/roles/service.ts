import { recordAudit } from '../../db/audit';
import type { Db } from '../../db/connect';
import type { Role } from '../../db/database';
import { topRankHolderIds } from '../../db/memberships';
import { countRoleUses, deleteRoleRow, findRoleById, insertRoles, type RoleChanges, updateRoleRow } from '../../db/roles';
import { updateTenantRow } from '../../db/tenants';
import { UsherError } from '../../lib/errors';
import { type Actor, assertTopRankHeld, lockTenant } from '../access';
import { conflict, forbidden, mapConflicts } from '../problems';

export interface RoleInput {
  slug: string;
  name: string;
  rank: number;
}

export const DEFAULT_ROLES: readonly RoleInput[] = [
  { slug: 'owner', name: 'Owner', rank: 100 },
  { slug: 'admin', name: 'Admin', rank: 50 },
  { slug: 'member', name: 'Member', rank: 10 },
];

export async function findRole(db: Db, tenantId: string, id: string): Promise<Role> {
  const role = await findRoleById(db, tenantId, id);
  if (!role) throw new UsherError('not-found', 'no such role');
  return role;
}

function checkRank(rank: number, by: Actor): void {
  if (by.rank !== undefined && rank > by.rank) throw forbidden(`rank ${rank} is above your own role's rank (${by.rank})`);
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
      const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as RoleChanges;
      if (Object.keys(changes).length === 0) return role;
      const managersBefore = await topRankHolderIds(tx, tenantId);
      const updated = await updateRoleRow(tx, role.id, changes);
      if (changes.slug && tenant.default_role_slug === role.slug) {
        await updateTenantRow(tx, tenantId, { default_role_slug: changes.slug });
      }
      await assertTopRankHeld(tx, tenantId);
      const managersAfter = await topRankHolderIds(tx, tenantId);
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
    const { members, invitations } = await countRoleUses(tx, role.id);
    if (members > 0 || invitations > 0) {
      throw conflict(`role ${role.slug} is in use: held by ${members} member(s), named by ${invitations} invitation(s)`, { members, invitations });
    }
    await deleteRoleRow(tx, role.id);
    await assertTopRankHeld(tx, tenantId);
    await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'role.deleted', data: { roleId: role.id, slug: role.slug } });
  });
}
