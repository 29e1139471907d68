import { type ColumnType, type Generated, type Selectable, sql } from 'kysely';
import type { Db } from './connect';

/*
 * The webhooks' tables (migration 2026_11_29_0005). Their types live here rather than in database.ts: the queries
 * below see them through `db.withTables`, so the feature adds its tables without touching the shared schema type.
 */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  description: Nullable<string>;
  /** Empty: every event type. */
  event_types: ColumnType<string[], string[] | undefined, string[]>;
  enabled: Generated<boolean>;
  /** `whsec_…`: HMAC keys must be usable, so they are stored as they are (unlike API keys, which are hashed). */
  secret: string;
  previous_secret: Nullable<string>;
  previous_secret_expires_at: Nullable<Date>;
  consecutive_failures: Generated<number>;
  failing_since: Nullable<Date>;
  last_success_at: Nullable<Date>;
  disabled_at: Nullable<Date>;
  disabled_reason: Nullable<string>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhookEventsTable {
  id: string;
  audit_event_id: number;
  tenant_id: string;
  type: string;
  subject_id: string | null;
  payload: string;
  occurred_at: Date;
  created_at: CreatedAt;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveriesTable {
  endpoint_id: string;
  event_id: string;
  status: WebhookDeliveryStatus;
  attempts: Generated<number>;
  manual_runs: Generated<number>;
  redelivery_requested: Generated<boolean>;
  last_attempt_at: Nullable<Date>;
  delivered_at: Nullable<Date>;
  created_at: CreatedAt;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  endpoint_id: string;
  event_id: string;
  run: string;
  attempt: number;
  attempted_at: Date;
  url: string;
  status_code: number | null;
  latency_ms: number;
  succeeded: boolean;
  error: string | null;
  response_body: string | null;
}

export interface WebhookDispatchCursorTable {
  name: string;
  /** xid8, which pg returns as text. */
  tx: string;
  audit_event_id: number;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type WebhookTables = {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  webhook_dispatch_cursor: WebhookDispatchCursorTable;
};

export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookEvent = Selectable<WebhookEventsTable>;
export type WebhookAttempt = Selectable<WebhookAttemptsTable> & { event_type: string | null };

const w = (db: Db) => db.withTables<WebhookTables>();

// Endpoints.

export async function insertWebhookEndpoint(
  db: Db,
  row: { id: string; tenantId: string; url: string; description: string | null; eventTypes: string[]; enabled: boolean; secret: string },
): Promise<WebhookEndpoint> {
  return w(db)
    .insertInto('webhook_endpoints')
    .values({
      id: row.id,
      tenant_id: row.tenantId,
      url: row.url,
      description: row.description,
      event_types: row.eventTypes,
      enabled: row.enabled,
      secret: row.secret,
      disabled_at: row.enabled ? null : new Date(),
      disabled_reason: row.enabled ? null : 'created disabled',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function countWebhookEndpoints(db: Db, tenantId: string): Promise<number> {
  const row = await w(db).selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function listWebhookEndpoints(db: Db, tenantId: string, q: { limit: number; after?: { createdAt: Date; id: string } }): Promise<WebhookEndpoint[]> {
  let query = w(db).selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId);
  if (q.after) {
    const { createdAt, id } = q.after;
    query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

export async function findWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
  return w(db).selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export async function findWebhookEndpointById(db: Db, id: string): Promise<WebhookEndpoint | undefined> {
  return w(db).selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function lockWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
  return w(db).selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
}

export interface WebhookEndpointChanges {
  url?: string;
  description?: string | null;
  event_types?: string[];
  enabled?: boolean;
  secret?: string;
  previous_secret?: string | null;
  previous_secret_expires_at?: Date | null;
  consecutive_failures?: number;
  failing_since?: Date | null;
  disabled_at?: Date | null;
  disabled_reason?: string | null;
  updated_at: Date;
}

export async function updateWebhookEndpoint(db: Db, id: string, changes: WebhookEndpointChanges): Promise<WebhookEndpoint> {
  return w(db).updateTable('webhook_endpoints').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<boolean> {
  const result = await w(db).deleteFrom('webhook_endpoints').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Every endpoint, in any state, of the given tenants: what the dispatcher matches a page of events against. */
export async function webhookEndpointsOf(db: Db, tenantIds: string[]): Promise<WebhookEndpoint[]> {
  if (tenantIds.length === 0) return [];
  return w(db).selectFrom('webhook_endpoints').selectAll().where('tenant_id', 'in', tenantIds).orderBy('created_at').execute();
}

/** The highest rank of the tenant's roles (undefined without roles). */
export async function findTopRank(db: Db, tenantId: string): Promise<number | undefined> {
  const row = await db.selectFrom('roles').select((eb) => eb.fn.max('rank').as('top')).where('tenant_id', '=', tenantId).executeTakeFirst();
  return row?.top ?? undefined;
}

/** The addresses of the members holding the tenant's highest-ranked role: who hears about a disabled endpoint. */
export async function tenantOwnerEmails(db: Db, tenantId: string): Promise<{ email: string; tenantName: string }[]> {
  const { rows } = await sql<{ email: string; tenant_name: string }>`
    select u.email, t.name as tenant_name from memberships m
    join roles r on r.id = m.role_id join users u on u.id = m.user_id join tenants t on t.id = m.tenant_id
    where m.tenant_id = ${tenantId} and r.rank = (select max(rank) from roles where tenant_id = ${tenantId})
    order by u.email`.execute(db);
  return rows.map((r) => ({ email: r.email, tenantName: r.tenant_name }));
}

// The dispatcher's reading of the audit log.

export interface AuditEventToDispatch {
  id: number;
  tx: string;
  tenant_id: string;
  invitation_id: string | null;
  actor: string;
  action: string;
  data: Record<string, unknown>;
  created_at: Date;
}

/**
 * The next audit events past the cursor, in (tx, id) order, stopping at the oldest transaction still running: every
 * row below that horizon is committed (or never will be), so the cursor can pass it without skipping a row that
 * commits later. See the migration 2026_11_29_0005 for the argument. The cursor is a subquery, a value before the
 * scan, so that the index on (tx, id) starts at it; joined to the cursor's table, the scan read the whole log.
 */
export async function auditEventsPastCursor(db: Db, limit: number): Promise<AuditEventToDispatch[]> {
  const { rows } = await sql<AuditEventToDispatch>`
    select a.id, a.tx::text as tx, a.tenant_id, a.invitation_id, a.actor, a.action, a.data, a.created_at
    from audit_events a
    where (a.tx, a.id) > (select c.tx, c.audit_event_id from webhook_dispatch_cursor c where c.name = 'audit')
      and a.tx < pg_snapshot_xmin(pg_current_snapshot())
    order by a.tx, a.id
    limit ${limit}`.execute(db);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Moves the cursor forward only: two dispatchers racing cannot move it back. */
export async function advanceDispatchCursor(db: Db, to: { tx: string; id: number }): Promise<void> {
  await sql`update webhook_dispatch_cursor set tx = ${to.tx}::xid8, audit_event_id = ${to.id}, updated_at = now()
    where name = 'audit' and (tx, audit_event_id) < (${to.tx}::xid8, ${to.id}::bigint)`.execute(db);
}

/** Stores an event's body once; a second call for the same audit event returns the first one's id. */
export async function upsertWebhookEvent(
  db: Db,
  row: { id: string; auditEventId: number; tenantId: string; type: string; subjectId: string | null; payload: string; occurredAt: Date },
): Promise<string> {
  const stored = await w(db)
    .insertInto('webhook_events')
    .values({
      id: row.id,
      audit_event_id: row.auditEventId,
      tenant_id: row.tenantId,
      type: row.type,
      subject_id: row.subjectId,
      payload: row.payload,
      occurred_at: row.occurredAt,
    })
    .onConflict((oc) => oc.column('audit_event_id').doUpdateSet((eb) => ({ audit_event_id: eb.ref('excluded.audit_event_id') })))
    .returning('id')
    .executeTakeFirstOrThrow();
  return stored.id;
}

export async function findWebhookEvent(db: Db, id: string): Promise<WebhookEvent | undefined> {
  return w(db).selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findTenantWebhookEvent(db: Db, tenantId: string, id: string): Promise<WebhookEvent | undefined> {
  return w(db).selectFrom('webhook_events').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

// Deliveries and the delivery log.

export async function insertDelivery(db: Db, endpointId: string, eventId: string): Promise<void> {
  await w(db)
    .insertInto('webhook_deliveries')
    .values({ endpoint_id: endpointId, event_id: eventId, status: 'pending' })
    .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
    .execute();
}

/**
 * Whether an earlier event of the same subject (invitation or batch) is still waiting for its first attempt at this
 * endpoint: a first attempt holds back briefly for it, so a healthy endpoint hears an invitation's events in order.
 */
export async function hasEarlierUntriedDelivery(db: Db, input: { endpointId: string; eventId: string }): Promise<boolean> {
  const { rows } = await sql<{ waiting: boolean }>`
    select exists (
      select 1 from webhook_events me
      join webhook_events before on before.subject_id = me.subject_id and before.audit_event_id < me.audit_event_id
      join webhook_deliveries d on d.event_id = before.id and d.endpoint_id = ${input.endpointId}
      where me.id = ${input.eventId} and d.attempts = 0 and d.status = 'pending'
    ) as waiting`.execute(db);
  return rows[0]?.waiting === true;
}

/** Asks the dispatcher for one more run of an event at an endpoint; returns that run's number. */
export async function requestRedelivery(db: Db, input: { endpointId: string; eventId: string }): Promise<number> {
  const row = await w(db)
    .insertInto('webhook_deliveries')
    .values({ endpoint_id: input.endpointId, event_id: input.eventId, status: 'pending', manual_runs: 1, redelivery_requested: true })
    .onConflict((oc) =>
      oc.columns(['endpoint_id', 'event_id']).doUpdateSet((eb) => ({
        status: 'pending',
        manual_runs: eb('webhook_deliveries.manual_runs', '+', 1),
        redelivery_requested: true,
      })),
    )
    .returning('manual_runs')
    .executeTakeFirstOrThrow();
  return row.manual_runs;
}

export async function requestedRedeliveries(db: Db, limit: number): Promise<{ endpoint_id: string; event_id: string; manual_runs: number }[]> {
  return w(db)
    .selectFrom('webhook_deliveries')
    .select(['endpoint_id', 'event_id', 'manual_runs'])
    .where('redelivery_requested', '=', true)
    .limit(limit)
    .execute();
}

/** Clears the request the dispatcher acted on, unless another one arrived since. */
export async function clearRedeliveryRequest(db: Db, input: { endpointId: string; eventId: string; run: number }): Promise<void> {
  await w(db)
    .updateTable('webhook_deliveries')
    .set({ redelivery_requested: false })
    .where('endpoint_id', '=', input.endpointId)
    .where('event_id', '=', input.eventId)
    .where('manual_runs', '=', input.run)
    .execute();
}

export interface AttemptRecord {
  endpointId: string;
  eventId: string;
  run: string;
  attempt: number;
  at: Date;
  url: string;
  statusCode: number | null;
  latencyMs: number;
  succeeded: boolean;
  error: string | null;
  responseBody: string | null;
}

/**
 * One attempt into the log, the delivery's state and the endpoint's health, in one transaction. Returns the
 * endpoint's health after it (undefined when the endpoint is gone).
 */
export async function recordAttempt(
  db: Db,
  a: AttemptRecord,
): Promise<{ consecutive_failures: number; failing_since: Date | null; enabled: boolean } | undefined> {
  return db.transaction().execute(async (tx) => {
    await w(tx)
      .insertInto('webhook_attempts')
      .values({
        endpoint_id: a.endpointId,
        event_id: a.eventId,
        run: a.run,
        attempt: a.attempt,
        attempted_at: a.at,
        url: a.url,
        status_code: a.statusCode,
        latency_ms: a.latencyMs,
        succeeded: a.succeeded,
        error: a.error,
        response_body: a.responseBody,
      })
      .execute();
    await w(tx)
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        last_attempt_at: a.at,
        ...(a.succeeded ? { status: 'delivered' as const, delivered_at: a.at } : {}),
      }))
      .where('endpoint_id', '=', a.endpointId)
      .where('event_id', '=', a.eventId)
      .execute();
    const health = w(tx).updateTable('webhook_endpoints').where('id', '=', a.endpointId);
    return (
      a.succeeded
        ? health.set({ consecutive_failures: 0, failing_since: null, last_success_at: a.at })
        : health.set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1), failing_since: eb.fn.coalesce('failing_since', eb.val(a.at)) }))
    )
      .returning(['consecutive_failures', 'failing_since', 'enabled'])
      .executeTakeFirst();
  });
}

/** Marks a delivery given up, unless another run delivered it meanwhile. */
export async function markDeliveryFailed(db: Db, input: { endpointId: string; eventId: string }): Promise<void> {
  await w(db)
    .updateTable('webhook_deliveries')
    .set({ status: 'failed' })
    .where('endpoint_id', '=', input.endpointId)
    .where('event_id', '=', input.eventId)
    .where('status', '=', 'pending')
    .execute();
}

/** Disables an endpoint that is still enabled; true for the one caller that did it. */
export async function disableWebhookEndpoint(db: Db, input: { id: string; reason: string; at: Date }): Promise<boolean> {
  const result = await w(db)
    .updateTable('webhook_endpoints')
    .set({ enabled: false, disabled_at: input.at, disabled_reason: input.reason, updated_at: input.at })
    .where('id', '=', input.id)
    .where('enabled', '=', true)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A page of an endpoint's delivery log, newest first, optionally for one event. */
export async function listWebhookAttempts(db: Db, q: { endpointId: string; limit: number; beforeId?: number; eventId?: string }): Promise<WebhookAttempt[]> {
  let query = w(db)
    .selectFrom('webhook_attempts')
    .leftJoin('webhook_events', 'webhook_events.id', 'webhook_attempts.event_id')
    .selectAll('webhook_attempts')
    .select('webhook_events.type as event_type')
    .where('webhook_attempts.endpoint_id', '=', q.endpointId);
  if (q.beforeId !== undefined) query = query.where('webhook_attempts.id', '<', q.beforeId);
  if (q.eventId !== undefined) query = query.where('webhook_attempts.event_id', '=', q.eventId);
  const rows = await query.orderBy('webhook_attempts.id', 'desc').limit(q.limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Forgets delivery logs and stored events older than `before`. */
export async function purgeWebhookHistory(db: Db, before: Date): Promise<void> {
  await w(db).deleteFrom('webhook_attempts').where('attempted_at', '<', before).execute();
  await w(db).deleteFrom('webhook_events').where('created_at', '<', before).execute();
}
