import { z } from 'zod';
import { emailAddress } from '../lib/email-address';

/** Request and response shapes of the management surface: operators (/v1/tenants) and a tenant's own key. */

const trimmed = (max: number) => z.string().trim().min(1).max(max);
const personName = z.string().trim().max(200);

export const tenantSlug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'must be lower-case letters, digits and inner hyphens, at most 63 characters' });

export const roleSlug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, { message: 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 100 characters' });

export const roleRank = z.number().int().min(0).max(1_000_000).describe('Higher outranks lower; an inviter may grant roles up to their own rank');

export const resourceId = z.uuid({ message: 'must be an id (a UUID)' });

const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => URL.canParse(v) && ['http:', 'https:'].includes(new URL(v).protocol), { message: 'must be an http(s) URL' });

/** A host as a redirect URL's `host` shows it: a name or address, optionally with a port; no scheme, path or user. */
export const redirectHost = z
  .string()
  .max(260)
  .transform((v) => v.trim().toLowerCase())
  .refine(
    (v) => {
      if (v === '' || /[/@?#\s\\]/.test(v) || !URL.canParse(`https://${v}`)) return false;
      return new URL(`https://${v}`).host === v;
    },
    { message: 'must be a host name, optionally with :port (no scheme, path or default port)' },
  );

const reminderDays = z.array(z.number().int().min(1).max(364)).max(20).describe('Days after sending; each below defaultTtlDays');

const settingsFields = {
  invitationsEnabled: z.boolean(),
  defaultTtlDays: z.number().int().min(1).max(365),
  reminderDays,
  allowedRedirectHosts: z.array(redirectHost).max(100),
  homeUrl: httpUrl.nullable().describe('Where an invitee lands after accepting when no allowed redirectUrl was given'),
  defaultRoleSlug: roleSlug.describe('The role an invitation grants when it names none; must exist'),
  mendixEnvironmentUuid: z.guid({ message: 'must be a UUID' }).nullable(),
  quickbaseDbid: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,64}$/, { message: 'must be letters, digits or "_", at most 64' })
    .nullable(),
  quickbaseRequiresAppToken: z.boolean(),
  akanaRequiresCsrf: z.boolean(),
  royaltiWorkspaceId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, { message: 'must be letters, digits, ".", "_" or "-", at most 128' })
    .nullable(),
  royaltiJwtKey: z.string().min(32).max(16384).nullable().describe('Write-only: an HS256 secret (32+ characters) or a PEM public key'),
};

export const tenantSettingsInput = z.object(settingsFields).partial().strict();
export type TenantSettingsInput = z.infer<typeof tenantSettingsInput>;

export const updateTenantBody = z
  .object({ name: trimmed(200), ...settingsFields })
  .partial()
  .strict();
export type UpdateTenantBody = z.infer<typeof updateTenantBody>;

export const roleInput = z.object({ slug: roleSlug, name: trimmed(200), rank: roleRank }).strict();

const ownerInput = z
  .object({ email: emailAddress, firstName: personName.optional(), lastName: personName.optional() })
  .strict();

export const createTenantBody = z
  .object({
    slug: tenantSlug,
    name: trimmed(200),
    settings: tenantSettingsInput.optional(),
    roles: z
      .array(roleInput)
      .min(1)
      .max(50)
      .refine((roles) => new Set(roles.map((r) => r.slug)).size === roles.length, { message: 'role slugs must be unique' })
      .optional()
      .describe('Defaults to owner (100), admin (50), member (10); the owner user gets the highest-ranked role'),
    owner: ownerInput,
    apiKeyName: trimmed(100).optional(),
  })
  .strict();
export type CreateTenantBody = z.infer<typeof createTenantBody>;

const pageFields = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};
export const listTenantsQuery = z.object({ ...pageFields, slug: z.string().max(63).optional() }).strict();
export const listUsersQuery = z.object({ ...pageFields, email: z.string().max(254).optional() }).strict();

export const createRoleBody = roleInput;
export const updateRoleBody = z.object({ slug: roleSlug, name: trimmed(200), rank: roleRank }).partial().strict();

const externalId = z.string().trim().min(1).max(200).nullable();
export const createUserBody = z
  .object({
    email: emailAddress,
    firstName: personName.nullable().optional(),
    lastName: personName.nullable().optional(),
    displayName: personName.nullable().optional(),
    externalId: externalId.optional().describe('Your system\'s id for the user; unique in the tenant'),
  })
  .strict();
export const updateUserBody = z
  .object({ firstName: personName.nullable(), lastName: personName.nullable(), displayName: personName.nullable(), externalId })
  .partial()
  .strict();

export const membershipBody = z.object({ role: roleSlug.describe('Role slug') }).strict();

export const createApiKeyBody = z
  .object({ name: trimmed(100), userId: resourceId.optional().describe('Whose key; defaults to the calling key\'s user') })
  .strict();

export const operatorApiKeyBody = z
  .object({ name: trimmed(100), email: emailAddress.optional(), userId: resourceId.optional() })
  .strict()
  .refine((v) => (v.email === undefined) !== (v.userId === undefined), { message: 'give exactly one of email and userId' });

const expiresAt = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) > Date.now(), { message: 'must be in the future' })
  .optional();
const actingUser = resourceId.optional().describe('The user the credential acts as; defaults to the calling key\'s user');

export const compatCredentialKind = z.enum(['mendix-environment', 'quickbase-user-token', 'quickbase-app-token', 'sap-client', 'akana-session']);
export type IssuableKind = z.infer<typeof compatCredentialKind>;

export const createCompatCredentialBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mendix-environment'), userId: actingUser }).strict(),
  z.object({ kind: z.literal('quickbase-user-token'), userId: actingUser, expiresAt }).strict(),
  z
    .object({
      kind: z.literal('quickbase-app-token'),
      token: z
        .string()
        .regex(/^[A-Za-z0-9_-]{8,200}$/, { message: 'must be 8–200 letters, digits, "_" or "-"' })
        .optional()
        .describe('The app token your Quickbase clients already send; generated when omitted'),
      expiresAt,
    })
    .strict(),
  z.object({ kind: z.literal('sap-client'), userId: actingUser }).strict(),
  z.object({ kind: z.literal('akana-session'), userId: actingUser, expiresAt }).strict(),
]);
export type CreateCompatCredentialBody = z.infer<typeof createCompatCredentialBody>;

// Responses.

const at = z.iso.datetime();
const roleRef = z.object({ id: z.uuid(), slug: z.string(), name: z.string(), rank: z.number().int() });

export const tenantView = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  invitationsEnabled: z.boolean(),
  defaultTtlDays: z.number().int(),
  reminderDays: z.array(z.number().int()),
  allowedRedirectHosts: z.array(z.string()),
  homeUrl: z.string().nullable(),
  defaultRoleSlug: z.string(),
  mendixEnvironmentUuid: z.string().nullable(),
  quickbaseDbid: z.string().nullable(),
  quickbaseRequiresAppToken: z.boolean(),
  akanaRequiresCsrf: z.boolean(),
  royaltiWorkspaceId: z.string().nullable(),
  royaltiJwtKeySet: z.boolean().describe('The key itself is never shown'),
  createdAt: at,
});

export const roleView = roleRef.extend({ createdAt: at });

export const userView = z.object({
  id: z.uuid(),
  email: z.string(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  displayName: z.string().nullable(),
  externalId: z.string().nullable(),
  role: roleRef.nullable().describe('The membership; null when the user is not a member'),
  createdAt: at,
});

export const apiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  user: z.object({ id: z.uuid(), email: z.string() }),
  createdAt: at,
  revokedAt: at.nullable(),
  current: z.boolean().describe('The key this request was made with'),
});

export const createdApiKeyView = apiKeyView.omit({ current: true }).extend({ secret: z.string().describe('Shown once; only its hash is stored') });

export const createdTenantView = z.object({ tenant: tenantView, owner: userView, apiKey: createdApiKeyView });

export const compatCredentialView = z.object({
  id: z.uuid(),
  kind: z.string(),
  identifier: z.string().nullable().describe('Environment UUID, SAP client id or username; null for bearer tokens'),
  userId: z.uuid().nullable(),
  expiresAt: at.nullable(),
  revokedAt: at.nullable(),
  createdAt: at,
});

export const issuedCompatCredentialView = compatCredentialView.extend({
  secrets: z
    .record(z.string(), z.string())
    .describe(
      'Shown once. mendix-environment: EnvironmentUUID, EnvironmentPassword; quickbase-user-token: usertoken; quickbase-app-token: apptoken; sap-client: clientId, clientSecret; akana-session: cookie, csrfHeader, csrfToken',
    ),
});

export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
export const list = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) });
