import { z } from 'zod';
import { emailAddress } from '../../lib/email-address';
import { HTTP_URL_PATTERN } from '../../http/openapi';
import { createdApiKeyView } from '../api-keys/schemas';
import { roleInput, roleSlug } from '../roles/schemas';
import { at, pageFields, personName, trimmed } from '../schemas';
import { userView } from '../users/schemas';

/** Operators create and list tenants (/v1/tenants); a tenant's own key reads and changes its settings (/v1/tenant). */

export const tenantSlug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'must be lower-case letters, digits and inner hyphens, at most 63 characters' });

const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => URL.canParse(v) && ['http:', 'https:'].includes(new URL(v).protocol), { message: 'must be an http(s) URL' })
  .meta({ pattern: HTTP_URL_PATTERN });

/** A port other than 443 (https' default, which a URL's `host` leaves out): 1–65535. */
const NON_DEFAULT_PORT = '(?:[1-9]|[1-9][0-9]|[1-35-9][0-9]{2}|4[0-35-9][0-9]|44[0-24-9]|[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
/**
 * A name (its last label starting with a letter, so no IPv4 look-alike) or an IPv4 address, with an optional port.
 * The API takes exactly what /openapi.json documents: nothing that the document calls invalid is accepted.
 */
const REDIRECT_HOST_PATTERN = `^(?:(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*|(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET})(?::${NON_DEFAULT_PORT})?$`;

const NOT_A_HOST = 'must be a host name, optionally with :port (no scheme, path or default port)';

/** A host as a redirect URL's `host` shows it: a name or address, optionally with a port; no scheme, path or user. */
export const redirectHost = z
  .string()
  .max(260)
  .regex(new RegExp(REDIRECT_HOST_PATTERN), { message: NOT_A_HOST })
  .transform((v) => v.toLowerCase())
  .refine((v) => URL.canParse(`https://${v}`) && new URL(`https://${v}`).host === v, { message: NOT_A_HOST })
  .meta({ pattern: REDIRECT_HOST_PATTERN });

const reminderDays = z.array(z.number().int().min(1).max(364)).max(20).describe('Days after sending; each below defaultTtlDays');

const settingsFields = {
  invitationsEnabled: z.boolean(),
  defaultTtlDays: z.number().int().min(1).max(365),
  reminderDays,
  allowedRedirectHosts: z.array(redirectHost).max(100),
  homeUrl: httpUrl.nullable().describe('Where an invitee lands after accepting when no allowed redirectUrl was given'),
  acceptPolicy: z
    .enum(['link', 'email', 'domain'])
    .describe('Who may accept: whoever holds the link; or only an account, named by your back end, with the invited address (email) or its domain'),
  signInUrl: httpUrl.nullable().describe('Under email/domain, the hosted accept page sends the invitee here, with `token`, to sign in and accept'),
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
  royaltiJwtKey: z.string().min(32).max(16384).nullable().describe('Write-only: an HMAC secret (32+ characters) or a PEM public key or certificate'),
  royaltiJwtKeyKind: z
    .enum(['hmac-secret', 'public-key'])
    .nullable()
    .describe('Sent with royaltiJwtKey: hmac-secret (HS256/384/512) or public-key (RS/PS/ES/EdDSA). Left out, it is inferred from the key: PEM is a public key, other text a secret'),
};

export const tenantSettingsInput = z.object(settingsFields).partial().strict();
export type TenantSettingsInput = z.infer<typeof tenantSettingsInput>;

export const updateTenantBody = z
  .object({ name: trimmed(200), ...settingsFields })
  .partial()
  .strict();
export type UpdateTenantBody = z.infer<typeof updateTenantBody>;

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

export const listTenantsQuery = z.object({ ...pageFields, slug: z.string().max(63).optional() }).strict();

// Responses.

export const tenantView = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  invitationsEnabled: z.boolean(),
  defaultTtlDays: z.number().int(),
  reminderDays: z.array(z.number().int()),
  allowedRedirectHosts: z.array(z.string()),
  homeUrl: z.string().nullable(),
  acceptPolicy: z.enum(['link', 'email', 'domain']),
  signInUrl: z.string().nullable(),
  defaultRoleSlug: z.string(),
  mendixEnvironmentUuid: z.string().nullable(),
  quickbaseDbid: z.string().nullable(),
  quickbaseRequiresAppToken: z.boolean(),
  akanaRequiresCsrf: z.boolean(),
  royaltiWorkspaceId: z.string().nullable(),
  royaltiJwtKeySet: z.boolean().describe('The key itself is never shown'),
  royaltiJwtKeyKind: z.enum(['hmac-secret', 'public-key']).nullable().describe('Which algorithms the key verifies: HS* for hmac-secret, RS/PS/ES/EdDSA for public-key'),
  createdAt: at,
});

export const createdTenantView = z.object({ tenant: tenantView, owner: userView, apiKey: createdApiKeyView });
