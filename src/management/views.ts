import type { ApiKeyRow } from '../db/api-keys';
import type { CompatCredentialRow } from '../db/compat-credential-admin';
import type { Role, Tenant } from '../db/database';
import type { UserWithRole } from '../db/users';

/** Database rows as the API shows them: camelCase, ISO times, and never a secret but a new key's, once. */

export function tenantView(t: Tenant) {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    invitationsEnabled: t.invitations_enabled,
    defaultTtlDays: t.default_ttl_days,
    reminderDays: t.reminder_days,
    allowedRedirectHosts: t.allowed_redirect_hosts,
    homeUrl: t.home_url,
    acceptPolicy: t.accept_policy,
    signInUrl: t.sign_in_url,
    defaultRoleSlug: t.default_role_slug,
    mendixEnvironmentUuid: t.mendix_environment_uuid,
    quickbaseDbid: t.quickbase_dbid,
    quickbaseRequiresAppToken: t.quickbase_requires_app_token,
    akanaRequiresCsrf: t.akana_requires_csrf,
    royaltiWorkspaceId: t.royalti_workspace_id,
    royaltiJwtKeySet: t.royalti_jwt_key !== null,
    royaltiJwtKeyKind: t.royalti_jwt_key_kind,
    createdAt: t.created_at.toISOString(),
  };
}

export function roleView(r: Role) {
  return { id: r.id, slug: r.slug, name: r.name, rank: r.rank, createdAt: r.created_at.toISOString() };
}

export function userView(u: UserWithRole) {
  return {
    id: u.id,
    email: u.email,
    firstName: u.first_name,
    lastName: u.last_name,
    displayName: u.display_name,
    externalId: u.external_id,
    role: u.role && { id: u.role.id, slug: u.role.slug, name: u.role.name, rank: u.role.rank },
    createdAt: u.created_at.toISOString(),
  };
}

export function apiKeyView(k: ApiKeyRow, currentKeyId?: string) {
  return {
    id: k.id,
    name: k.name,
    user: { id: k.user_id, email: k.user_email },
    kind: k.kind,
    scopes: k.scopes,
    maxRank: k.max_rank,
    createdAt: k.created_at.toISOString(),
    revokedAt: k.revoked_at ? k.revoked_at.toISOString() : null,
    current: k.id === currentKeyId,
  };
}

/** A key just made: its secret, this once, and no `current` (the request was not made with it). */
export function issuedApiKeyView(k: ApiKeyRow & { secret: string }) {
  const { current: _current, ...view } = apiKeyView(k);
  return { ...view, secret: k.secret };
}

/** Kinds whose `lookup` is an identifier the client sends in the clear (the rest store a token's hash there). */
const identifierKinds = new Set(['mendix-environment', 'sap-client', 'quickbase-password']);

export function compatCredentialView(c: CompatCredentialRow) {
  return {
    id: c.id,
    kind: c.kind,
    identifier: identifierKinds.has(c.kind) ? c.lookup : null,
    userId: c.user_id,
    expiresAt: c.expires_at ? c.expires_at.toISOString() : null,
    revokedAt: c.revoked_at ? c.revoked_at.toISOString() : null,
    createdAt: c.created_at.toISOString(),
  };
}
