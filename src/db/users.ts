import { newId } from '../lib/ids';
import { canonicalEmail } from '../lib/email-address';
import type { Db } from './connect';
import type { User } from './database';

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
  return db
    .insertInto('users')
    .values({
      id: newId(),
      tenant_id: input.tenantId,
      email: input.email.trim(),
      email_canonical: canonicalEmail(input.email),
      first_name: input.firstName ?? null,
      last_name: input.lastName ?? null,
      display_name: null,
      external_id: null,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'email_canonical']).doUpdateSet((eb) => ({
        first_name: eb.fn.coalesce('users.first_name', 'excluded.first_name'),
        last_name: eb.fn.coalesce('users.last_name', 'excluded.last_name'),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function isMember(db: Db, tenantId: string, email: string): Promise<boolean> {
  const row = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('memberships.user_id')
    .where('memberships.tenant_id', '=', tenantId)
    .where('users.email_canonical', '=', canonicalEmail(email))
    .executeTakeFirst();
  return row !== undefined;
}

/** Grant a role exactly once: a repeated grant for the same invitation changes nothing. */
export async function upsertMembership(db: Db, input: { tenantId: string; userId: string; roleId: string; invitationId: string }): Promise<void> {
  await db
    .insertInto('memberships')
    .values({ tenant_id: input.tenantId, user_id: input.userId, role_id: input.roleId, invitation_id: input.invitationId })
    .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet({ role_id: input.roleId, invitation_id: input.invitationId }))
    .execute();
}
