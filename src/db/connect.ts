import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from 'kysely';
import pg from 'pg';
import { Circuit } from '../lib/circuit';
import type { Database } from './database';

export type Db = Kysely<Database>;

// int8 (bigserial ids, counts) as strings would leak into JSON; our counts fit in a JS number.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

export interface DatabaseOptions {
  maxConnections?: number;
  /** How long getting a connection may take (a new one included) before the call fails as unavailable. */
  connectTimeoutMs?: number;
  /** The server cancels a statement that runs longer (statement_timeout); 0 = no limit (migrations). */
  statementTimeoutMs?: number;
}

export const defaultDatabaseTimeouts = { connectTimeoutMs: 5_000, statementTimeoutMs: 15_000 } as const;

/**
 * A pool with deadlines: a connection must come within `connectTimeoutMs`, a statement finish within
 * `statementTimeoutMs` (the client gives up a few seconds after the server should have). A database that cannot be
 * reached, drops the connection or does not answer in time surfaces as UsherError 'unavailable' (503 with
 * Retry-After), not as a 500; once it is known to be down, calls fail at once until a probe finds it back (Circuit).
 * Every other error (a unique violation, a bad query) passes through unchanged.
 */
export function connectDatabase(url: string, options: DatabaseOptions = {}): Db {
  const statementTimeoutMs = options.statementTimeoutMs ?? defaultDatabaseTimeouts.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? defaultDatabaseTimeouts.connectTimeoutMs,
    keepAlive: true,
    ...(statementTimeoutMs > 0
      ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + 5_000, idle_in_transaction_session_timeout: statementTimeoutMs * 4 }
      : {}),
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const circuit = new Circuit('the database', () => probe(pool.options));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: guardedPool(pool, circuit) }) });
}

/** Resolves when the database answers a trivial query. */
export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

function guardedPool(pool: pg.Pool, circuit: Circuit): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    Client: (pool as unknown as { Client: PostgresPool['Client'] }).Client,
    options: pool.options,
    async connect() {
      circuit.check();
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        // Whatever stops a connection (refused, timed out, the server starting or shutting down, a wrong password) is
        // the database being unavailable to this call. A refusal says the server is down; a timeout may only be a
        // busy pool, so a probe of its own decides.
        if (refused(err)) circuit.markDown(err);
        else circuit.suspect(err);
        throw circuit.unavailable(undefined, err);
      }
      let guarded = clients.get(client);
      if (!guarded) {
        // A connection lost while checked out (between the statements of a transaction) emits 'error' with no pool
        // listener attached: unhandled, it would end the process. Its next statement fails, and is answered 503.
        client.on('error', (err) => circuit.markDown(err));
        guarded = guardedClient(client, circuit);
        clients.set(client, guarded);
      }
      return guarded;
    },
    async end() {
      circuit.stop();
      await pool.end();
    },
  };
}

function guardedClient(client: pg.PoolClient, circuit: Circuit): PostgresPoolClient {
  const query = (...args: unknown[]): unknown => {
    const result = (client.query as (...a: unknown[]) => unknown)(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((err: unknown) => {
      throw asUnavailable(err, circuit);
    });
  };
  return {
    get processID() {
      return (client as unknown as { processID?: number }).processID;
    },
    query: query as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy),
  };
}

/** A connection of its own, outside the pool: a pool busy with slow requests does not make the database look down. */
async function probe(options: pg.PoolConfig): Promise<void> {
  const client = new pg.Client({ ...options, connectionTimeoutMillis: Math.min(options.connectionTimeoutMillis ?? 2_000, 2_000), query_timeout: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

function refused(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (/^(08...|57P0[1-3]|53300|28...)$/.test(code) || ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code));
}

// SQLSTATE classes and codes that mean "not now" rather than "not this": connection exceptions, the server shutting
// down or starting, too many connections, a cancelled (timed out) statement.
const unavailableStates = /^(08...|57P0[1-3]|53300)$/;
const lostConnection = /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|not queryable/i;

function asUnavailable(err: unknown, circuit: Circuit): unknown {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const state = typeof code === 'string' ? code : '';
  const text = typeof message === 'string' ? message : '';
  // A statement the server cancelled at statement_timeout, or one the client stopped waiting for.
  if (state === '57014' || /Query read timeout/i.test(text)) {
    if (state !== '57014') circuit.suspect(err);
    return circuit.unavailable('the database did not answer in time; try again shortly', err);
  }
  if (unavailableStates.test(state) || lostConnection.test(text) || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(state)) {
    circuit.markDown(err);
    return circuit.unavailable(undefined, err);
  }
  return err;
}
