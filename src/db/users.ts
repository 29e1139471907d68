import { sql, type Updateable } from 'kysely';
import { newId } from '../lib/ids';
import { canonicalEmail } from '../lib/email-address';
import type { Db } from './connect';
import type { Role, User, UsersTable } from './database';

// Kept here for the modules that import them from this file; memberships have their own now.

export type RoleRef = Pick<Role, 'id' | 'slug' | 'name' | 'rank'>;

/** A user with the role of their membership; null when they are not a member. */
export type UserWithRole = User & { role: RoleRef | null };

export type UserChanges = Updateable<Pick<UsersTable, 'first_name' | 'last_name' | 'display_name' | 'external_id'>>;

export async function findUserByEmail(db: Db, tenantId: string, email: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('email_canonical', '=', canonicalEmail(email))
    .executeTakeFirst();
}

export async function findUserById(db: Db, tenantId: string, userId: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
}

/** A user by the id another system knows them by (an SAP user ID, a Quickbase userid). */
export async function findUserByExternalId(db: Db, tenantId: string, externalId: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
}

/** Find or create the tenant's user for an email; names fill in only where none were known. Safe to repeat. */
export async function upsertUser(
  db: Db,
  input: { tenantId: string; email: string; firstName?: string | null; lastName?: string | null },
): Promise<User> {
  const [user] = await upsertUsers(db, input.tenantId, [input]);
  return user!;
}

/**
 * upsertUser for several invitees of one tenant in one statement (a bulk chunk's). Each address once: one statement
 * cannot insert and then update the same user.
 */
export async function upsertUsers(db: Db, tenantId: string, inputs: { email: string; firstName?: string | null; lastName?: string | null }[]): Promise<User[]> {
  const byAddress = new Map(inputs.map((input) => [canonicalEmail(input.email), input]));
  if (byAddress.size === 0) return [];
  return db
    .insertInto('users')
    .values(
      [...byAddress].map(([emailCanonical, input]) => ({
        id: newId(),
        tenant_id: tenantId,
        email: input.email.trim(),
        email_canonical: emailCanonical,
        first_name: input.firstName ?? null,
        last_name: input.lastName ?? null,
        display_name: null,
        external_id: null,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'email_canonical']).doUpdateSet((eb) => ({
        first_name: eb.fn.coalesce('users.first_name', 'excluded.first_name'),
        last_name: eb.fn.coalesce('users.last_name', 'excluded.last_name'),
      })),
    )
    .returningAll()
    .execute();
}

/** A user as given: no merging with an existing one (the tenant's unique email decides). */
export async function insertUser(
  db: Db,
  input: { tenantId: string; email: string; firstName?: string | null; lastName?: string | null; displayName?: string | null; externalId?: string | null },
): Promise<User> {
  return db
    .insertInto('users')
    .values({
      id: newId(),
      tenant_id: input.tenantId,
      email: input.email.trim(),
      email_canonical: canonicalEmail(input.email),
      first_name: input.firstName ?? null,
      last_name: input.lastName ?? null,
      display_name: input.displayName ?? null,
      external_id: input.externalId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateUserRow(db: Db, userId: string, changes: UserChanges): Promise<void> {
  await db.updateTable('users').set(changes).where('id', '=', userId).execute();
}

/** Whether another user of the tenant (not `exceptUserId`) has this externalId. */
export async function isExternalIdTaken(db: Db, tenantId: string, externalId: string, exceptUserId?: string): Promise<boolean> {
  let query = db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('external_id', '=', externalId);
  if (exceptUserId) query = query.where('id', '!=', exceptUserId);
  return (await query.executeTakeFirst()) !== undefined;
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

export async function findUserWithRole(db: Db, tenantId: string, userId: string): Promise<UserWithRole | undefined> {
  const row = await usersWithRoles(db, tenantId).where('users.id', '=', userId).executeTakeFirst();
  return row && withRole(row);
}

/** Newest first, continuing after (created_at, id); `email` finds one address whatever its case. */
export async function listUsersWithRoles(
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
