import type { Db } from './connect';

/**
 * The invitation backlog as the database sees it, for the API's scrape-time gauges (src/main/observability.ts): both
 * counts are answered from partial indexes (invitations_one_pending, invitations_unstarted).
 */
export async function countPendingInvitations(db: Db): Promise<number> {
  const row = await db.selectFrom('invitations').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Rows written but never handed to Temporal, older than `createdBefore` (the reconciler's grace period). */
export async function countUnstartedInvitations(db: Db, createdBefore: Date): Promise<number> {
  const row = await db
    .selectFrom('invitations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workflow_started_at', 'is', null)
    .where('created_at', '<', createdBefore)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
