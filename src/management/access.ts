import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Tenant } from '../db/database';
import { UsherError } from '../lib/errors';
import { conflict } from './problems';

/**
 * Who may manage a tenant: a member holding a role of the tenant's highest rank (the owner role by default).
 * Returns the member's rank and the tenant's top rank; `rank` is undefined for a non-member.
 */
export async function standingOf(db: Db, tenantId: string, userId: string): Promise<{ rank: number | undefined; top: number | undefined }> {
  const row = await db
    .selectFrom('roles')
    .select((eb) => [
      eb.fn.max('roles.rank').as('top'),
      eb
        .selectFrom('memberships')
        .innerJoin('roles as held', 'held.id', 'memberships.role_id')
        .select('held.rank')
        .where('memberships.tenant_id', '=', tenantId)
        .where('memberships.user_id', '=', userId)
        .as('rank'),
    ])
    .where('roles.tenant_id', '=', tenantId)
    .executeTakeFirst();
  return { rank: row?.rank ?? undefined, top: row?.top ?? undefined };
}

export const isManager = (standing: { rank: number | undefined; top: number | undefined }): boolean =>
  standing.rank !== undefined && standing.top !== undefined && standing.rank >= standing.top;

/**
 * Takes the tenant's row lock for the rest of the transaction. Every management write goes through it, so checks of
 * the form "is the slug free / does someone still hold the top role" cannot race each other.
 */
export async function lockTenant(db: Db, tenantId: string): Promise<Tenant> {
  const tenant = await db.selectFrom('tenants').selectAll().where('id', '=', tenantId).forUpdate().executeTakeFirst();
  if (!tenant) throw new UsherError('not-found', 'no such tenant');
  return tenant;
}

/** Refuses (409) a change that would leave no member holding the tenant's highest-ranked role: nobody could manage it. */
export async function assertTopRankHeld(db: Db, tenantId: string): Promise<void> {
  const { rows } = await sql<{ held: boolean }>`
    select exists (
      select 1 from memberships m join roles r on r.id = m.role_id
      where m.tenant_id = ${tenantId} and r.rank = (select max(rank) from roles where tenant_id = ${tenantId})
    ) as held`.execute(db);
  if (!rows[0]?.held) {
    throw conflict('this would leave no member holding the tenant\'s highest-ranked role, so nobody could manage the tenant');
  }
}

/** The users who may manage the tenant now: members holding a role of its highest rank. */
export async function managerIds(db: Db, tenantId: string): Promise<Set<string>> {
  const { rows } = await sql<{ user_id: string }>`
    select m.user_id from memberships m join roles r on r.id = m.role_id
    where m.tenant_id = ${tenantId} and r.rank = (select max(rank) from roles where tenant_id = ${tenantId})`.execute(db);
  return new Set(rows.map((r) => r.user_id));
}
