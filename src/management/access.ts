import type { Db } from '../db/connect';
import type { Tenant } from '../db/database';
import { isTopRankHeld } from '../db/memberships';
import { lockTenantRow } from '../db/tenants';
import { UsherError } from '../lib/errors';
import { conflict } from './problems';

/** Who is acting: for the check that nobody creates or lifts a role above their own rank. Undefined = the operator. */
export interface Actor {
  actor: string;
  rank?: number;
}

/**
 * Who may manage a tenant: a member holding a role of the tenant's highest rank (the owner role by default). `rank` is
 * the member's (undefined for a non-member), `top` the tenant's highest.
 */
export const isManager = (standing: { rank: number | undefined; top: number | undefined }): standing is { rank: number; top: number } =>
  standing.rank !== undefined && standing.top !== undefined && standing.rank >= standing.top;

/**
 * Takes the tenant's row lock for the rest of the transaction. Every management write goes through it, so checks of
 * the form "is the slug free / does someone still hold the top role" cannot race each other.
 */
export async function lockTenant(db: Db, tenantId: string): Promise<Tenant> {
  const tenant = await lockTenantRow(db, tenantId);
  if (!tenant) throw new UsherError('not-found', 'no such tenant');
  return tenant;
}

/** Refuses (409) a change that would leave no member holding the tenant's highest-ranked role: nobody could manage it. */
export async function assertTopRankHeld(db: Db, tenantId: string): Promise<void> {
  if (!(await isTopRankHeld(db, tenantId))) {
    throw conflict('this would leave no member holding the tenant\'s highest-ranked role, so nobody could manage the tenant');
  }
}
