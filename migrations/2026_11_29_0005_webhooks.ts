import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports application code.
//
// Webhooks read their events from the audit log, which every state change already writes in the transaction of the
// change. Two things it lacked:
//
// 1. A reading order a poller can trust. Ids come from a sequence when a row is inserted, but transactions commit in
//    another order: a poller that remembers "the highest id seen" skips a row whose transaction took id 9 and committed
//    after the one that took id 10. `tx` is the inserting transaction's 64-bit id (it never wraps). A transaction id
//    below the oldest one still running (`pg_snapshot_xmin(pg_current_snapshot())`) belongs to a transaction that has
//    ended, so every row with such a `tx` is visible for good: the poller reads in (tx, id) order up to that horizon
//    and its cursor never passes a row that could still appear. Rows of one invitation are written by transactions that
//    follow one another, so (tx, id) is also their order of occurrence.
//
// 2. An audit row for a completed bulk upload: `completeBatch` only flips the batch's status. The trigger below writes
//    `batch.completed` in that very transaction (only on the running → completed transition, so a retried activity
//    writes it once), with the row counts as they stand then.
export async function up(db: Kysely<any>): Promise<void> {
  // Added without a default, then given one: no table rewrite. Rows already there keep a null `tx`, which no cursor
  // comparison passes, so history is not replayed to endpoints that did not exist then; every row written from now on
  // (inserts wait for this migration's lock) has one, and the cursor starts before them all.
  await sql`alter table audit_events add column tx xid8`.execute(db);
  await sql`alter table audit_events alter column tx set default pg_current_xact_id()`.execute(db);
  await sql`create index audit_events_tx on audit_events (tx, id)`.execute(db);

  await sql`create function audit_batch_completed() returns trigger language plpgsql as $$
    begin
      insert into audit_events (tenant_id, invitation_id, actor, action, data)
      values (new.tenant_id, null, 'system', 'batch.completed', jsonb_build_object(
        'batchId', new.id,
        'total', new.total,
        'results', (select coalesce(jsonb_object_agg(r.result, r.n), '{}'::jsonb)
                    from (select coalesce(result, 'pending') as result, count(*) as n
                          from invitation_batch_rows where batch_id = new.id group by 1) r)));
      return new;
    end $$`.execute(db);
  await sql`create trigger invitation_batches_completed after update of status on invitation_batches
    for each row when (old.status = 'running' and new.status = 'completed')
    execute function audit_batch_completed()`.execute(db);

  await sql`create table webhook_endpoints (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    url text not null,
    description text,
    event_types text[] not null default '{}',
    enabled boolean not null default true,
    secret text not null,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    consecutive_failures integer not null default 0,
    failing_since timestamptz,
    last_success_at timestamptz,
    disabled_at timestamptz,
    disabled_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`.execute(db);
  await sql`create index webhook_endpoints_listing on webhook_endpoints (tenant_id, created_at desc, id desc)`.execute(db);

  // One row per audit event some endpoint of its tenant could want: the exact body every attempt sends (text, not
  // jsonb, so the bytes and hence the signatures' input never change), under the id that is its webhook-id.
  await sql`create table webhook_events (
    id text primary key,
    audit_event_id bigint not null unique,
    tenant_id uuid not null references tenants (id) on delete cascade,
    type text not null,
    subject_id uuid,
    payload text not null,
    occurred_at timestamptz not null,
    created_at timestamptz not null default now()
  )`.execute(db);
  await sql`create index webhook_events_subject on webhook_events (subject_id, audit_event_id)`.execute(db);

  // Where each (endpoint, event) stands; the attempts themselves are in webhook_attempts.
  await sql`create table webhook_deliveries (
    endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
    event_id text not null references webhook_events (id) on delete cascade,
    status text not null check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    manual_runs integer not null default 0,
    redelivery_requested boolean not null default false,
    last_attempt_at timestamptz,
    delivered_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (endpoint_id, event_id)
  )`.execute(db);
  await sql`create index webhook_deliveries_redelivery on webhook_deliveries (endpoint_id) where redelivery_requested`.execute(db);

  // The delivery log: one row per HTTP attempt.
  await sql`create table webhook_attempts (
    id bigserial primary key,
    endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
    event_id text not null,
    run text not null,
    attempt integer not null,
    attempted_at timestamptz not null,
    url text not null,
    status_code integer,
    latency_ms integer not null,
    succeeded boolean not null,
    error text,
    response_body text
  )`.execute(db);
  await sql`create index webhook_attempts_log on webhook_attempts (endpoint_id, id desc)`.execute(db);

  await sql`create table webhook_dispatch_cursor (
    name text primary key,
    tx xid8 not null,
    audit_event_id bigint not null,
    updated_at timestamptz not null default now()
  )`.execute(db);
  await sql`insert into webhook_dispatch_cursor (name, tx, audit_event_id) values ('audit', '0'::xid8, 0)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table webhook_dispatch_cursor`.execute(db);
  await sql`drop table webhook_attempts`.execute(db);
  await sql`drop table webhook_deliveries`.execute(db);
  await sql`drop table webhook_events`.execute(db);
  await sql`drop table webhook_endpoints`.execute(db);
  await sql`drop trigger invitation_batches_completed on invitation_batches`.execute(db);
  await sql`drop function audit_batch_completed()`.execute(db);
  await sql`drop index audit_events_tx`.execute(db);
  await sql`alter table audit_events drop column tx`.execute(db);
}
