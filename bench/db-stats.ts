/**
 * PostgreSQL's own view of a phase: pg_stat_statements (what ran, how often, how long), pg_stat_database (commits,
 * rows written, WAL) and the plans of the statements that ran (EXPLAIN (GENERIC_PLAN), PostgreSQL 16+).
 */
import type pg from 'pg';

export interface DbCounters {
  commits: number;
  inserted: number;
  updated: number;
  deleted: number;
  walBytes: number;
}

export async function dbCounters(admin: pg.Pool): Promise<DbCounters> {
  const { rows } = await admin.query(
    `select xact_commit::float8 as commits, tup_inserted::float8 as inserted, tup_updated::float8 as updated, tup_deleted::float8 as deleted,
            (select wal_bytes::float8 from pg_stat_wal) as wal
       from pg_stat_database where datname = current_database()`,
  );
  const r = rows[0];
  return { commits: r.commits, inserted: r.inserted, updated: r.updated, deleted: r.deleted, walBytes: r.wal ?? 0 };
}

export const counterDelta = (a: DbCounters, b: DbCounters): DbCounters => ({
  commits: b.commits - a.commits,
  inserted: b.inserted - a.inserted,
  updated: b.updated - a.updated,
  deleted: b.deleted - a.deleted,
  walBytes: b.walBytes - a.walBytes,
});

export interface Statement {
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
}

export async function resetStatements(admin: pg.Pool): Promise<void> {
  await admin.query('select pg_stat_statements_reset()');
}

/**
 * What autovacuum and the checkpointer do on their own, done now: the probes that compare the empty system with the
 * pile measure reads of a database at rest, not a vacuum of the rows just piled up or a checkpoint's writes that
 * happen to fall inside them. Both sides of the comparison get it.
 */
export async function restDatabase(admin: pg.Pool): Promise<void> {
  await admin.query('vacuum (analyze) /* bench-own */');
  await admin.query('checkpoint /* bench-own */');
}

/** Usher's statements since the last reset, by total time (the bench's own reading left out). */
export async function statements(admin: pg.Pool, limit = 15): Promise<Statement[]> {
  const { rows } = await admin.query(
    `select query, calls::float8 as calls, total_exec_time as total, mean_exec_time as mean, rows::float8 as rows
       from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not ilike '%pg_stat%' and query not ilike 'explain%' and query not ilike '%bench-own%'
      order by total_exec_time desc limit $1`,
    [limit],
  );
  return rows.map((r) => ({ query: oneLine(r.query), calls: r.calls, totalMs: r.total, meanMs: r.mean, rows: r.rows }));
}

const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim();

export interface PlanCheck {
  query: string;
  calls: number;
  /** Scans of whole tables that hold more than a few thousand rows: what would grow with the pile. */
  seqScans: string[];
  plan: string;
}

/** Every sequential scan so far of each table that holds more than a few thousand rows, by table. */
export async function bigTableSeqScans(admin: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await admin.query(`/* bench-own */ select relname, seq_scan::float8 as n from pg_stat_user_tables where n_live_tup > 5000`);
  return new Map(rows.map((r) => [r.relname as string, r.n as number]));
}

/**
 * The generic plans of the statements that ran (selects, updates, deletes on the big tables) since the last reset.
 * pg_stat_statements records a statement's constants as parameters, so a statement that meets a partial index with a
 * literal (`status = 'pending'`) is planned here as if it could not: bigTableSeqScans tells what really ran.
 */
export async function planChecks(admin: pg.Pool): Promise<PlanCheck[]> {
  const big = new Set((await bigTableSeqScans(admin)).keys());
  const { rows } = await admin.query(
    `/* bench-own */ select query, calls::float8 as calls from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and (query ilike 'select%' or query ilike 'update%' or query ilike 'delete%' or query ilike 'with%')
        and query not ilike '%pg_%' and query not ilike '%bench-own%'
      order by calls desc`,
  );
  const checks: PlanCheck[] = [];
  for (const row of rows) {
    const query = row.query as string;
    if (![...big].some((t) => query.includes(`"${t}"`) || new RegExp(`\\b${t}\\b`).test(query))) continue;
    try {
      const plan = (await admin.query(`explain (generic_plan) ${query}`)).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
      const seqScans = [...plan.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1]!).filter((t) => big.has(t));
      checks.push({ query: oneLine(query), calls: row.calls, seqScans, plan });
    } catch {
      // A statement PostgreSQL cannot plan generically (e.g. with a parameter in a LIMIT type it cannot infer).
    }
  }
  return checks;
}
