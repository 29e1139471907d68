import { recordAudit } from '../../db/audit';
import type { Db } from '../../db/connect';
import { revokeKeysOfUser } from '../../db/api-keys';
import { deleteMembership, setMemberRole } from '../../db/memberships';
import { findRoleBySlug } from '../../db/roles';
import { findUserWithRole, insertUser, isExternalIdTaken, updateUserRow, type UserWithRole } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { type Actor, assertTopRankHeld, lockTenant } from '../access';
import { conflict, forbidden, invalidField, mapConflicts } from '../problems';

export interface UserFields {
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
  externalId?: string | null;
}

export async function getUser(db: Db, tenantId: string, id: string): Promise<UserWithRole> {
  const user = await findUserWithRole(db, tenantId, id);
  if (!user) throw new UsherError('not-found', 'no such user');
  return user;
}

async function assertExternalIdFree(db: Db, tenantId: string, externalId: string | null | undefined, exceptUserId?: string): Promise<void> {
  if (!externalId) return;
  if (await isExternalIdTaken(db, tenantId, externalId, exceptUserId)) {
    throw conflict('externalId: another user in this tenant has this externalId', { errors: [{ path: 'externalId', message: 'already taken' }] });
  }
}

/** A user of the tenant, not yet a member: `PUT /v1/users/:id/membership` grants a role. Email is unique per tenant. */
export async function createUser(db: Db, tenantId: string, input: UserFields & { email: string }, by: Actor): Promise<UserWithRole> {
  return mapConflicts(() =>
    db.transaction().execute(async (tx) => {
      await lockTenant(tx, tenantId);
      await assertExternalIdFree(tx, tenantId, input.externalId);
      const user = await insertUser(tx, { tenantId, ...input });
      await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'user.created', data: { userId: user.id, email: user.email } });
      return { ...user, role: null };
    }),
  );
}

export async function updateUser(db: Db, tenantId: string, id: string, patch: UserFields, by: Actor): Promise<UserWithRole> {
  return db.transaction().execute(async (tx) => {
    await lockTenant(tx, tenantId);
    const user = await getUser(tx, tenantId, id);
    await assertExternalIdFree(tx, tenantId, patch.externalId, user.id);
    const columns = {
      first_name: patch.firstName,
      last_name: patch.lastName,
      display_name: patch.displayName,
      external_id: patch.externalId,
    };
    const changes = Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined));
    if (Object.keys(changes).length === 0) return user;
    await updateUserRow(tx, user.id, changes);
    await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'user.updated', data: { userId: user.id, fields: Object.keys(patch) } });
    return getUser(tx, tenantId, id);
  });
}

/**
 * Makes the user a member with this role, or changes their role. Refused when the role outranks the caller, or when
 * it would leave no member holding the tenant's highest role.
 */
export async function setMembership(
  db: Db,
  tenantId: string,
  userId: string,
  roleSlug: string,
  by: Actor,
): Promise<{ user: UserWithRole; created: boolean }> {
  return db.transaction().execute(async (tx) => {
    await lockTenant(tx, tenantId);
    const user = await getUser(tx, tenantId, userId);
    const role = await findRoleBySlug(tx, tenantId, roleSlug);
    if (!role) throw invalidField('role', `no role ${roleSlug} in this tenant`);
    if (by.rank !== undefined && role.rank > by.rank) throw forbidden(`role ${role.slug} outranks your own`);
    if (user.role?.id === role.id) return { user, created: false };
    await setMemberRole(tx, { tenantId, userId: user.id, roleId: role.id });
    await assertTopRankHeld(tx, tenantId);
    await recordAudit(tx, {
      tenantId,
      invitationId: null,
      actor: by.actor,
      action: user.role ? 'membership.changed' : 'membership.created',
      data: { userId: user.id, role: role.slug, ...(user.role ? { previousRole: user.role.slug } : {}) },
    });
    return { user: await getUser(tx, tenantId, userId), created: user.role === null };
  });
}

/** Ends the membership and, in the same transaction, every API key of the user in this tenant; the user record stays. */
export async function removeMembership(db: Db, tenantId: string, userId: string, by: Actor): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lockTenant(tx, tenantId);
    const user = await getUser(tx, tenantId, userId);
    if (!user.role) throw new UsherError('not-found', 'this user is not a member');
    if (by.rank !== undefined && user.role.rank > by.rank) throw forbidden('this member outranks you');
    await deleteMembership(tx, tenantId, user.id);
    await assertTopRankHeld(tx, tenantId);
    const revokedKeys = await revokeKeysOfUser(tx, tenantId, user.id, new Date());
    await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'membership.removed', data: { userId: user.id, role: user.role.slug, revokedKeys } });
  });
}
