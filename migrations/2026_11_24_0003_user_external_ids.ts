import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports application code.
// Quickbase's userid and SAP's inviteeUserId name users by external id: one user per id per tenant, found by index.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create unique index users_tenant_external_id on users (tenant_id, external_id) where external_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists users_tenant_external_id`.execute(db);
}
