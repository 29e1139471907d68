import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports application code.
//
// API keys get a kind, scopes and a rank ceiling. Existing keys keep what they could safely do before: a key whose
// user holds the tenant's highest rank could already grant every role, so it becomes a server key capped at that
// rank; every other key becomes a member key, acting as its own user only. All keep the three scopes they had in
// effect (management still needs the key's user to be a manager).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys
    add column kind text not null default 'member' check (kind in ('member', 'server')),
    add column scopes text[] not null default array['invitations:read', 'invitations:write', 'management'],
    add column max_rank integer`.execute(db);
  await sql`update api_keys k set kind = 'server', max_rank = top.rank
    from (select tenant_id, max(rank) as rank from roles group by tenant_id) top, memberships m, roles r
    where top.tenant_id = k.tenant_id and m.tenant_id = k.tenant_id and m.user_id = k.user_id
      and r.id = m.role_id and r.rank = top.rank`.execute(db);

  await sql`alter table tenants
    add column accept_policy text not null default 'link' check (accept_policy in ('link', 'email', 'domain')),
    add column sign_in_url text,
    add column royalti_jwt_key_kind text check (royalti_jwt_key_kind in ('hmac-secret', 'public-key'))`.execute(db);
  await sql`update tenants set royalti_jwt_key_kind = case when royalti_jwt_key like '-----BEGIN%' then 'public-key' else 'hmac-secret' end
    where royalti_jwt_key is not null`.execute(db);

  // A bulk upload's rows are judged against the ceiling of the key that sent it.
  await sql`alter table invitation_batches add column max_rank integer`.execute(db);

  // Who accepted: the product's signed-in account, when its back end said so.
  await sql`create table invitation_acceptances (
    id uuid primary key,
    invitation_id uuid not null references invitations (id) on delete cascade,
    account_email text not null,
    account_external_id text,
    created_at timestamptz not null default now()
  )`.execute(db);
  await sql`create index invitation_acceptances_invitation on invitation_acceptances (invitation_id)`.execute(db);
  await sql`alter table memberships add column accepted_by uuid references invitation_acceptances (id) on delete set null`.execute(db);

  // Resend limits: a cooldown between resends, a cap per window and one per invitation.
  await sql`alter table invitations
    add column resends integer not null default 0,
    add column last_resent_at timestamptz,
    add column resend_window_start timestamptz,
    add column resends_in_window integer not null default 0`.execute(db);

  // Link tokens name the key of the token key ring that derived them (null: the single key of before).
  await sql`alter table invitation_tokens add column key_id text`.execute(db);
  await sql`create table token_keys (
    key_id text primary key,
    fingerprint text not null,
    created_at timestamptz not null default now()
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table token_keys`.execute(db);
  await sql`alter table invitation_tokens drop column key_id`.execute(db);
  await sql`alter table invitations drop column resends, drop column last_resent_at, drop column resend_window_start, drop column resends_in_window`.execute(db);
  await sql`alter table memberships drop column accepted_by`.execute(db);
  await sql`drop table invitation_acceptances`.execute(db);
  await sql`alter table invitation_batches drop column max_rank`.execute(db);
  await sql`alter table tenants drop column accept_policy, drop column sign_in_url, drop column royalti_jwt_key_kind`.execute(db);
  await sql`alter table api_keys drop column kind, drop column scopes, drop column max_rank`.execute(db);
}
