import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('default_role_slug', 'text', (c) => c.notNull().defaultTo('member'))
    .addColumn('mendix_environment_uuid', 'uuid', (c) => c.unique())
    .addColumn('quickbase_dbid', 'text', (c) => c.unique())
    .addColumn('quickbase_requires_app_token', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('akana_requires_csrf', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('royalti_workspace_id', 'text', (c) => c.unique())
    .addColumn('royalti_jwt_key', 'text')
    .execute();

  await db.schema
    .alterTable('invitations')
    .addColumn('header_text', 'text')
    .addColumn('footer_text', 'text')
    .addColumn('link_base_url', 'text')
    .addColumn('inviter_name', 'text')
    .addColumn('batch_id', 'uuid')
    .execute();

  // Credentials of the seed APIs: secrets are stored as hashes only; `lookup` is what a request presents first
  // (an environment UUID, a username, a client id, or the SHA-256 of a bearer-style token).
  await db.schema
    .createTable('compat_credentials')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('lookup', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('compat_credentials_lookup_unique', ['tenant_id', 'kind', 'lookup'])
    .execute();
  await sql`create index compat_credentials_lookup on compat_credentials (kind, lookup)`.execute(db);

  await db.schema
    .createTable('invitation_batches')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('inviter_user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running','completed')`))
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .execute();
  await sql`create unique index invitation_batches_idempotency on invitation_batches (tenant_id, idempotency_key) where idempotency_key is not null`.execute(db);

  await db.schema
    .createTable('invitation_batch_rows')
    .addColumn('batch_id', 'uuid', (c) => c.notNull().references('invitation_batches.id').onDelete('cascade'))
    .addColumn('row_number', 'integer', (c) => c.notNull())
    .addColumn('input', 'jsonb', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.check(sql`result in ('created','duplicate','invalid','already-member','failed')`))
    .addColumn('reason', 'text')
    .addColumn('invitation_id', 'uuid')
    .addColumn('processed_at', 'timestamptz')
    .addPrimaryKeyConstraint('invitation_batch_rows_pk', ['batch_id', 'row_number'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invitation_batch_rows').ifExists().execute();
  await db.schema.dropTable('invitation_batches').ifExists().execute();
  await db.schema.dropTable('compat_credentials').ifExists().execute();
  await db.schema
    .alterTable('invitations')
    .dropColumn('header_text')
    .dropColumn('footer_text')
    .dropColumn('link_base_url')
    .dropColumn('inviter_name')
    .dropColumn('batch_id')
    .execute();
  await db.schema
    .alterTable('tenants')
    .dropColumn('default_role_slug')
    .dropColumn('mendix_environment_uuid')
    .dropColumn('quickbase_dbid')
    .dropColumn('quickbase_requires_app_token')
    .dropColumn('akana_requires_csrf')
    .dropColumn('royalti_workspace_id')
    .dropColumn('royalti_jwt_key')
    .execute();
}
