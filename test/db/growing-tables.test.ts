import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchCounts, insertBatch, recordRowResults } from '../../src/db/batches';
import { connectDatabase, type Db } from '../../src/db/connect';
import { advanceDispatchCursor, auditEventsPastCursor } from '../../src/db/webhooks';
import { newId } from '../../src/lib/ids';
import { freshDatabase } from '../support/database';
import { createTestTenant, type TestTenant } from '../support/tenants';

/*
 * Statements that run all the time against tables that only grow must read what they need, not the table. A timing
 * would be noise here; PostgreSQL's own counters say how many rows and index entries a statement read.
 */

let fresh: Awaited<ReturnType<typeof freshDatabase>>;
/** One connection: the statement under test, then the flush of its counters, on the same backend. */
let db: Db;
let stats: pg.Client;
let tenant: TestTenant;

beforeAll(async () => {
  fresh = await freshDatabase();
  db = connectDatabase(fresh.url, { maxConnections: 1 });
  stats = new pg.Client({ connectionString: fresh.url });
  await stats.connect();
  tenant = await createTestTenant(fresh.db);
});

afterAll(async () => {
  await stats?.end();
  await db?.destroy();
  await fresh?.drop();
});

/** Rows and index entries the statements of `run` read from `table`, by PostgreSQL's counters. */
async function tuplesRead(table: string, run: () => Promise<void>): Promise<number> {
  const read = async () => {
    await sql`select pg_stat_force_next_flush()`.execute(db);
    const { rows } = await stats.query(
      `select coalesce(t.seq_tup_read, 0) + coalesce((select sum(i.idx_tup_read) from pg_stat_user_indexes i where i.relid = t.relid), 0) as n
         from pg_stat_user_tables t where t.relname = $1`,
      [table],
    );
    return Number(rows[0].n);
  };
  const before = await read();
  await run();
  return (await read()) - before;
}

/** `count` audit events in one transaction; answers that transaction's id. */
async function insertAuditEvents(count: number, action: string): Promise<string> {
  const { rows } = await fresh.db.executeQuery(
    sql<{ tx: string }>`insert into audit_events (tenant_id, invitation_id, actor, action, data)
        select ${tenant.id}::uuid, null, 'system', ${action}, '{}'::jsonb from generate_series(1, ${count})
        returning tx::text`.compile(fresh.db),
  );
  return rows[0]!.tx;
}

/**
 * Until no transaction anywhere on the server (other test files share it) is as old as `tx`: the dispatcher reads no
 * further than that, as it must.
 */
async function visible(tx: string): Promise<void> {
  await expect
    .poll(async () => (await stats.query('select pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 as passed', [tx])).rows[0].passed, {
      timeout: 20_000,
      interval: 50,
    })
    .toBe(true);
}

describe('the webhook dispatcher polling the audit log', () => {
  it('reads the events past its cursor, not the log before it', async () => {
    let last = '';
    for (let k = 0; k < 20; k++) last = await insertAuditEvents(1000, 'invitation.created');
    await visible(last);
    let passed = 0;
    for (let page = await auditEventsPastCursor(db, 1000); page.length > 0; page = await auditEventsPastCursor(db, 1000)) {
      passed += page.length;
      await advanceDispatchCursor(db, page.at(-1)!);
    }
    expect(passed).toBeGreaterThanOrEqual(20_000);

    await visible(await insertAuditEvents(3, 'invitation.accepted'));
    let next: Awaited<ReturnType<typeof auditEventsPastCursor>> = [];
    const read = await tuplesRead('audit_events', async () => {
      next = await auditEventsPastCursor(db, 100);
    });
    expect(next.map((e) => e.action)).toEqual(['invitation.accepted', 'invitation.accepted', 'invitation.accepted']);
    expect(read).toBeLessThan(100);
  });
});

describe('a bulk chunk recording its rows’ results', () => {
  it('reads the chunk’s rows, not every row of the batch', async () => {
    // As in production: the table's statistics were taken before this batch's rows arrived.
    await sql`analyze invitation_batch_rows`.execute(fresh.db);
    await sql`alter table invitation_batch_rows set (autovacuum_enabled = false)`.execute(fresh.db);
    const batchId = newId();
    const rows = Array.from({ length: 5000 }, (_, i) => ({ email: `row-${i}@example.com`, role: 'member' }));
    await insertBatch(fresh.db, { id: batchId, tenantId: tenant.id, inviterUserId: tenant.owner.id, idempotencyKey: null, maxRank: null, rows });

    const chunk = Array.from({ length: 100 }, (_, i) => ({ rowNumber: 4901 + i, result: 'invalid' as const, reason: 'no such role', invitationId: null }));
    const read = await tuplesRead('invitation_batch_rows', () => recordRowResults(db, batchId, chunk, new Date()));
    expect(await batchCounts(fresh.db, batchId)).toMatchObject({ invalid: 100, pending: 4900 });
    expect(read).toBeLessThan(1000);
  });
});
