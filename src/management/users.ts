import { sql } from 'kysely';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/connect';
import { UsherError } from '../lib/errors';
import { canonicalEmail } from '../lib/email-address';
import { newId } from '../lib/ids';
import { assertTopRankHeld, lockTenant } from './access';
import { conflict, forbidden, invalidField, mapConflicts } from './problems';
import type { Actor } from './roles';
import type { UserWithRole } from './views';

export interface UserFields {
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
  externalId?: string | null;
}

function usersWithRoles(db: Db, tenantId: string) {
  return db
    .selectFrom('users')
    .leftJoin('memberships', (join) => join.onRef('memberships.user_id', '=', 'users.id').onRef('memberships.tenant_id', '=', 'users.tenant_id'))
    .leftJoin('roles', 'roles.id', 'memberships.role_id')
    .selectAll('users')
    .select(['roles.id as role_id', 'roles.slug as role_slug', 'roles.name as role_name', 'roles.rank as role_rank'])
    .where('users.tenant_id', '=', tenantId);
}

type JoinedRow = Awaited<ReturnType<ReturnType<typeof usersWithRoles>['executeTakeFirstOrThrow']>>;

function withRole(row: JoinedRow): UserWithRole {
  const { role_id, role_slug, role_name, role_rank, ...user } = row;
  return { ...user, role: role_id ? { id: role_id, slug: role_slug!, name: role_name!, rank: role_rank! } : null };
}

export async function getUser(db: Db, tenantId: string, id: string): Promise<UserWithRole> {
  const row = await usersWithRoles(db, tenantId).where('users.id', '=', id).executeTakeFirst();
  if (!row) throw new UsherError('not-found', 'no such user');
  return withRole(row);
}

/** Newest first, continuing after (created_at, id). */
export async function listUsers(
  db: Db,
  tenantId: string,
  q: { limit: number; after?: { createdAt: Date; id: string }; email?: string },
): Promise<UserWithRole[]> {
  let query = usersWithRoles(db, tenantId);
  if (q.email) query = query.where('users.email_canonical', '=', canonicalEmail(q.email));
  if (q.after) query = query.where(sql<boolean>`(users.created_at, users.id) < (${q.after.createdAt}, ${q.after.id})`);
  const rows = await query.orderBy('users.created_at', 'desc').orderBy('users.id', 'desc').limit(q.limit).execute();
  return rows.map(withRole);
}

async function assertExternalIdFree(db: Db, tenantId: string, externalId: string | null | undefined, exceptUserId?: string): Promise<void> {
  if (!externalId) return;
  let query = db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('external_id', '=', externalId);
  if (exceptUserId) query = query.where('id', '!=', exceptUserId);
  if (await query.executeTakeFirst()) {
    throw conflict('externalId: another user in this tenant has this externalId', { errors: [{ path: 'externalId', message: 'already taken' }] });
  }
}

/** A user of the tenant, not yet a member: `PUT /v1/users/:id/membership` grants a role. Email is unique per tenant. */
export async function createUser(db: Db, tenantId: string, input: UserFields & { email: string }, by: Actor): Promise<UserWithRole> {
  return mapConflicts(() =>
    db.transaction().execute(async (tx) => {
      await lockTenant(tx, tenantId);
      await assertExternalIdFree(tx, tenantId, input.externalId);
      const user = await tx
        .insertInto('users')
        .values({
          id: newId(),
          tenant_id: tenantId,
          email: input.email.trim(),
          email_canonical: canonicalEmail(input.email),
          first_name: input.firstName ?? null,
          last_name: input.lastName ?? null,
          display_name: input.displayName ?? null,
          external_id: input.externalId ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
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
    await tx.updateTable('users').set(changes).where('id', '=', user.id).execute();
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
    const role = await tx.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('slug', '=', roleSlug).executeTakeFirst();
    if (!role) throw invalidField('role', `no role ${roleSlug} in this tenant`);
    if (by.rank !== undefined && role.rank > by.rank) throw forbidden(`role ${role.slug} outranks your own`);
    if (user.role?.id === role.id) return { user, created: false };
    await tx
      .insertInto('memberships')
      .values({ tenant_id: tenantId, user_id: user.id, role_id: role.id, invitation_id: null })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet({ role_id: role.id }))
      .execute();
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

/** Ends the membership; the user (and their API keys, now without rights) stays. */
export async function removeMembership(db: Db, tenantId: string, userId: string, by: Actor): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lockTenant(tx, tenantId);
    const user = await getUser(tx, tenantId, userId);
    if (!user.role) throw new UsherError('not-found', 'this user is not a member');
    if (by.rank !== undefined && user.role.rank > by.rank) throw forbidden('this member outranks you');
    await tx.deleteFrom('memberships').where('tenant_id', '=', tenantId).where('user_id', '=', user.id).execute();
    await assertTopRankHeld(tx, tenantId);
    await recordAudit(tx, { tenantId, invitationId: null, actor: by.actor, action: 'membership.removed', data: { userId: user.id, role: user.role.slug } });
  });
}
