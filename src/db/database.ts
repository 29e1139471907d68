import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type InvitationStatus = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired' | 'bounced' | 'failed';

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  invitations_enabled: Generated<boolean>;
  default_ttl_days: Generated<number>;
  reminder_days: Generated<number[]>;
  allowed_redirect_hosts: Generated<string[]>;
  home_url: string | null;
  default_role_slug: Generated<string>;
  mendix_environment_uuid: string | null;
  quickbase_dbid: string | null;
  quickbase_requires_app_token: Generated<boolean>;
  akana_requires_csrf: Generated<boolean>;
  royalti_workspace_id: string | null;
  /** HS256 secret, or a PEM public key, that verifies Royalti bearer JWTs. */
  royalti_jwt_key: string | null;
  /** Which of the two `royalti_jwt_key` is: each allows only its own algorithms. */
  royalti_jwt_key_kind: ColumnType<RoyaltiKeyKind | null, RoyaltiKeyKind | null | undefined, RoyaltiKeyKind | null>;
  /** Who may accept: whoever holds the link, or only an account with the invited address (or its domain). */
  accept_policy: Generated<AcceptPolicy>;
  /** Where the hosted accept page sends the invitee to sign in (with `token`) when the policy needs an account. */
  sign_in_url: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
}

export type AcceptPolicy = 'link' | 'email' | 'domain';
export type RoyaltiKeyKind = 'hmac-secret' | 'public-key';

export interface UsersTable {
  id: string;
  tenant_id: string;
  email: string;
  email_canonical: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  external_id: string | null;
  created_at: CreatedAt;
}

export interface RolesTable {
  id: string;
  tenant_id: string;
  slug: string;
  name: string;
  rank: number;
  created_at: CreatedAt;
}

export interface MembershipsTable {
  tenant_id: string;
  user_id: string;
  role_id: string;
  invitation_id: string | null;
  accepted_by: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
}

export interface InvitationAcceptancesTable {
  id: string;
  invitation_id: string;
  account_email: string;
  account_external_id: string | null;
  created_at: CreatedAt;
}

export interface TokenKeysTable {
  key_id: string;
  fingerprint: string;
  created_at: CreatedAt;
}

export interface InvitationsTable {
  id: string;
  tenant_id: string;
  email: string;
  email_canonical: string;
  invitee_user_id: string | null;
  inviter_user_id: string;
  role_id: string;
  status: InvitationStatus;
  failure_reason: string | null;
  message: string | null;
  first_name: string | null;
  last_name: string | null;
  redirect_url: string | null;
  language: string;
  send_email: boolean;
  origin: string;
  expires_at: Timestamp;
  reminders_sent: Generated<number>;
  token_generation: Generated<number>;
  workflow_id: string;
  workflow_started_at: Timestamp | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  decided_at: Timestamp | null;
  header_text: ColumnType<string | null, string | null | undefined, string | null>;
  footer_text: ColumnType<string | null, string | null | undefined, string | null>;
  /** Where the email link points (SAP's sourceUrl), with `token` added as a query parameter; else Usher's page. */
  link_base_url: ColumnType<string | null, string | null | undefined, string | null>;
  /** A display name given by the caller (SAP's inviterName) instead of the inviter user's own. */
  inviter_name: ColumnType<string | null, string | null | undefined, string | null>;
  batch_id: ColumnType<string | null, string | null | undefined, string | null>;
  resends: Generated<number>;
  /** The workflow's next reminder as last recorded (migrations/2026_12_05_0006); trusted only when `next_reminder_known`. */
  next_reminder_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  next_reminder_known: Generated<boolean>;
  last_resent_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  resend_window_start: ColumnType<Date | null, Date | null | undefined, Date | null>;
  resends_in_window: Generated<number>;
}

export interface InvitationTokensTable {
  token_hash: string;
  invitation_id: string;
  generation: number;
  /** The key of the token key ring that derived this link; null for links made before the ring existed. */
  key_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  consumed_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface EmailMessagesTable {
  id: string;
  invitation_id: string;
  send_key: string;
  kind: string;
  recipient: string;
  message_id: string;
  status: 'sending' | 'sent';
  attempts: Generated<number>;
  provider_response: string | null;
  created_at: CreatedAt;
  sent_at: Timestamp | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  user_id: string;
  name: string;
  key_hash: string;
  /** member: acts as its own user; server: a product's back end, acting for any member up to `max_rank`. */
  kind: Generated<ApiKeyKind>;
  scopes: Generated<ApiKeyScope[]>;
  max_rank: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export type ApiKeyKind = 'member' | 'server';
export const apiKeyScopes = ['invitations:read', 'invitations:write', 'management'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export interface AuditEventsTable {
  id: Generated<string>;
  tenant_id: string;
  invitation_id: string | null;
  actor: string;
  action: string;
  data: ColumnType<Record<string, unknown>, string | undefined, never>;
  created_at: CreatedAt;
}

export type CompatCredentialKind =
  | 'mendix-environment'
  | 'quickbase-user-token'
  | 'quickbase-password'
  | 'quickbase-ticket'
  | 'quickbase-app-token'
  | 'sap-client'
  | 'akana-session'
  | 'akana-password';

export interface CompatCredentialsTable {
  id: string;
  tenant_id: string;
  kind: CompatCredentialKind;
  lookup: string;
  secret_hash: string | null;
  user_id: string | null;
  data: ColumnType<Record<string, unknown>, string | undefined, string>;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface InvitationBatchesTable {
  id: string;
  tenant_id: string;
  inviter_user_id: string;
  status: 'running' | 'completed';
  total: number;
  idempotency_key: string | null;
  /** The highest role rank the key that sent the batch may grant; null: no ceiling beyond the inviter's own. */
  max_rank: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
  completed_at: Timestamp | null;
}

export type BatchRowResult = 'created' | 'duplicate' | 'invalid' | 'already-member' | 'failed';

export interface InvitationBatchRowsTable {
  batch_id: string;
  row_number: number;
  input: ColumnType<Record<string, unknown>, string, string>;
  result: BatchRowResult | null;
  reason: string | null;
  invitation_id: string | null;
  processed_at: Timestamp | null;
}

export interface Database {
  compat_credentials: CompatCredentialsTable;
  invitation_batches: InvitationBatchesTable;
  invitation_batch_rows: InvitationBatchRowsTable;
  tenants: TenantsTable;
  users: UsersTable;
  roles: RolesTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  invitation_tokens: InvitationTokensTable;
  email_messages: EmailMessagesTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  invitation_acceptances: InvitationAcceptancesTable;
  token_keys: TokenKeysTable;
}

export type Tenant = Selectable<TenantsTable>;
export type User = Selectable<UsersTable>;
export type Role = Selectable<RolesTable>;
export type Invitation = Selectable<InvitationsTable>;
export type NewInvitation = Insertable<InvitationsTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
