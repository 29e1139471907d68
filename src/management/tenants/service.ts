import { recordAudit } from '../../db/audit';
import { revokeMendixEnvironmentCredentials } from '../../db/compat-credential-admin';
import type { Db } from '../../db/connect';
import type { Tenant } from '../../db/database';
import { setMemberRole } from '../../db/memberships';
import { findRoleBySlug, insertRoles } from '../../db/roles';
import { findTenant, insertTenant, type TenantChanges, updateTenantRow } from '../../db/tenants';
import { insertUser, type UserWithRole } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { lockTenant } from '../access';
import { issueApiKey, type IssuedApiKey, OWNER_KEY_GRANT } from '../api-keys/service';
import { invalidField, mapConflicts } from '../problems';
import { DEFAULT_ROLES, type RoleInput } from '../roles/service';
import { royaltiKeyColumns } from './royalti-key';
import type { TenantSettingsInput, UpdateTenantBody } from './schemas';

/** The database's own defaults (migration 0001), needed to check settings a request leaves out. */
const DEFAULT_TTL_DAYS = 14;
const DEFAULT_REMINDER_DAYS = [2, 5, 10];

const columnOf = {
  name: 'name',
  invitationsEnabled: 'invitations_enabled',
  defaultTtlDays: 'default_ttl_days',
  reminderDays: 'reminder_days',
  allowedRedirectHosts: 'allowed_redirect_hosts',
  homeUrl: 'home_url',
  acceptPolicy: 'accept_policy',
  signInUrl: 'sign_in_url',
  defaultRoleSlug: 'default_role_slug',
  mendixEnvironmentUuid: 'mendix_environment_uuid',
  quickbaseDbid: 'quickbase_dbid',
  quickbaseRequiresAppToken: 'quickbase_requires_app_token',
  akanaRequiresCsrf: 'akana_requires_csrf',
  royaltiWorkspaceId: 'royalti_workspace_id',
  royaltiJwtKey: 'royalti_jwt_key',
  royaltiJwtKeyKind: 'royalti_jwt_key_kind',
} as const satisfies Record<keyof UpdateTenantBody, keyof TenantChanges>;

function toColumns(settings: UpdateTenantBody): TenantChanges {
  const out: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(columnOf)) {
    let value = settings[field as keyof UpdateTenantBody];
    if (value === undefined) continue;
    if (field === 'reminderDays') value = [...new Set(value as number[])].sort((a, b) => a - b);
    if (field === 'allowedRedirectHosts') value = [...new Set(value as string[])];
    if (field === 'mendixEnvironmentUuid' && typeof value === 'string') value = value.toLowerCase();
    out[column] = value;
  }
  return out as TenantChanges;
}

/** Reminders come before expiry: each reminder day below the (new or current) TTL. */
function checkTimings(ttl: number, reminderDays: readonly number[], reminderDaysGiven: boolean, path = 'reminderDays'): void {
  const late = reminderDays.filter((d) => d >= ttl);
  if (late.length === 0) return;
  throw invalidField(
    path,
    reminderDaysGiven
      ? `each must be below defaultTtlDays (${ttl}); ${late.join(', ')} is not`
      : `the current reminder days (${reminderDays.join(', ')}) must stay below defaultTtlDays (${ttl}): send reminderDays too`,
  );
}

export async function getTenant(db: Db, tenantId: string): Promise<Tenant> {
  const tenant = await findTenant(db, tenantId);
  if (!tenant) throw new UsherError('not-found', 'no such tenant');
  return tenant;
}

export interface CreateTenantInput {
  slug: string;
  name: string;
  settings?: TenantSettingsInput;
  roles?: RoleInput[];
  owner: { email: string; firstName?: string; lastName?: string };
  apiKeyName?: string;
  actor: string;
}

export interface CreatedTenant {
  tenant: Tenant;
  owner: UserWithRole;
  apiKey: IssuedApiKey;
}

/**
 * A tenant, ready to invite with: its roles (owner > admin > member unless given), its owner user holding the
 * highest-ranked role, and a first API key for the owner, whose secret is returned once. One transaction: a refusal
 * leaves nothing behind.
 */
export async function createTenant(db: Db, input: CreateTenantInput): Promise<CreatedTenant> {
  const roles = input.roles ?? DEFAULT_ROLES;
  const settings = input.settings ?? {};
  const ownerRole = roles.reduce((top, r) => (r.rank > top.rank ? r : top));
  const lowest = roles.reduce((low, r) => (r.rank < low.rank ? r : low));
  const defaultRoleSlug = settings.defaultRoleSlug ?? (roles.some((r) => r.slug === 'member') ? 'member' : lowest.slug);
  if (!roles.some((r) => r.slug === defaultRoleSlug)) throw invalidField('settings.defaultRoleSlug', `no role ${defaultRoleSlug} among the tenant's roles`);
  checkTimings(settings.defaultTtlDays ?? DEFAULT_TTL_DAYS, settings.reminderDays ?? DEFAULT_REMINDER_DAYS, settings.reminderDays !== undefined, 'settings.reminderDays');

  return mapConflicts(
    () =>
      db.transaction().execute(async (tx) => {
        const columns = { ...toColumns({ ...settings, defaultRoleSlug }), ...royaltiKeyColumns(settings, 'settings.') };
        const tenant = await insertTenant(tx, { slug: input.slug, name: input.name, columns });
        const created = await insertRoles(tx, tenant.id, roles);
        const role = created.find((r) => r.slug === ownerRole.slug)!;
        const user = await insertUser(tx, { tenantId: tenant.id, email: input.owner.email, firstName: input.owner.firstName, lastName: input.owner.lastName });
        await setMemberRole(tx, { tenantId: tenant.id, userId: user.id, roleId: role.id });
        await recordAudit(tx, {
          tenantId: tenant.id,
          invitationId: null,
          actor: input.actor,
          action: 'tenant.created',
          data: { slug: tenant.slug, roles: roles.map((r) => r.slug), ownerUserId: user.id },
        });
        const apiKey = await issueApiKey(tx, { tenantId: tenant.id, userId: user.id, name: input.apiKeyName ?? 'owner', actor: input.actor, ...OWNER_KEY_GRANT });
        return { tenant, owner: { ...user, role: { id: role.id, slug: role.slug, name: role.name, rank: role.rank } }, apiKey };
      }),
    {
      mendixEnvironmentUuid: 'settings.mendixEnvironmentUuid',
      quickbaseDbid: 'settings.quickbaseDbid',
      royaltiWorkspaceId: 'settings.royaltiWorkspaceId',
    },
  );
}

/**
 * Changes settings; the result is checked as a whole (reminders below the TTL, the default role exists). Changing the
 * Mendix environment revokes the credentials of the old one: issue a new `mendix-environment` credential after.
 */
export async function updateTenant(db: Db, tenantId: string, patch: UpdateTenantBody, actor: string): Promise<Tenant> {
  return mapConflicts(() =>
    db.transaction().execute(async (tx) => {
      const current = await lockTenant(tx, tenantId);
      checkTimings(patch.defaultTtlDays ?? current.default_ttl_days, patch.reminderDays ?? current.reminder_days, patch.reminderDays !== undefined);
      if (patch.defaultRoleSlug !== undefined) {
        const role = await findRoleBySlug(tx, tenantId, patch.defaultRoleSlug);
        if (!role) throw invalidField('defaultRoleSlug', `no role ${patch.defaultRoleSlug} in this tenant`);
      }
      const columns = { ...toColumns(patch), ...royaltiKeyColumns(patch) };
      if (Object.keys(columns).length === 0) return current;
      const updated = await updateTenantRow(tx, tenantId, columns);
      if (patch.mendixEnvironmentUuid !== undefined && current.mendix_environment_uuid && updated.mendix_environment_uuid !== current.mendix_environment_uuid) {
        await revokeMendixEnvironmentCredentials(tx, tenantId, current.mendix_environment_uuid);
      }
      await recordAudit(tx, { tenantId, invitationId: null, actor, action: 'tenant.updated', data: { fields: Object.keys(patch) } });
      return updated;
    }),
  );
}
