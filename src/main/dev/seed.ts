import { SignJWT } from 'jose';
import { createApiKey } from '../../db/api-keys';
import { OWNER_KEY_GRANT as OWNER_KEY } from '../../management/api-keys/service';
import { ensureMembership, ensureRole, findTenantById, setSeedIdentities, setUserExternalId, upsertDemoTenant } from '../../db/demo-tenant';
import { addCredential } from '../../db/compat-credentials';
import type { Db } from '../../db/connect';
import type { Tenant, User } from '../../db/database';
import { upsertUser } from '../../db/users';
import { newId } from '../../lib/ids';
import { newSecret, sha256 } from '../../lib/crypto';

export const DEMO_TENANT_SLUG = 'demo';
export const DEMO_OWNER_EMAIL = 'owner@demo.usher.localhost';

/**
 * Everything a client of each seed API needs to call the demo tenant. The values the seed documents print in their
 * samples (Quickbase's `target_dbid`, `auth_ticket`, `app_token`, user `112249.ctdg`) are accepted as they stand, so a
 * sample request works against `usher dev` with only the host changed; the rest is generated once per data folder.
 * Written to `.usher/dev-credentials.json`; its shape is documented in docs/credentials.md.
 */
export interface DevCredentials {
  tenant: { id: string; slug: string; name: string };
  usher: { apiKey: string };
  mendix: { endpoint: string; EnvironmentUUID: string; EnvironmentPassword: string; InviterEmailAddress: string; roles: Record<string, string> };
  quickbase: {
    dbid: string;
    ticket: string;
    usertoken: string;
    apptoken: string;
    username: string;
    password: string;
    userids: Record<string, string>;
  };
  sap: { endpoint: string; clientId: string; clientSecret: string; homeUrl: string };
  akana: { endpoint: string; login: string; email: string; password: string; tenant: string; cookie: string; csrfHeader: string; csrfToken: string };
  royalti: { endpoint: string; workspaceId: string; jwt: string; jwtKey: string };
}

export interface DevSecrets {
  apiKey: string;
  mendixEnvironmentUuid: string;
  mendixPassword: string;
  quickbaseUserToken: string;
  quickbasePassword: string;
  sapClientSecret: string;
  akanaSession: string;
  akanaCsrf: string;
  akanaPassword?: string;
  royaltiJwtKey: string;
}

export function newDevSecrets(apiKey?: string): DevSecrets {
  return {
    apiKey: apiKey ?? `usher_dev_${newSecret(18)}`,
    mendixEnvironmentUuid: newId(),
    mendixPassword: newSecret(18),
    quickbaseUserToken: `b${newSecret(12)}_${newSecret(9)}`,
    quickbasePassword: newSecret(12),
    sapClientSecret: newSecret(24),
    akanaSession: newSecret(24),
    akanaCsrf: newSecret(18),
    akanaPassword: newSecret(12),
    royaltiJwtKey: newSecret(32),
  };
}

/** The demo tenant `usher dev` starts with: roles owner > admin > member, an owner, and every seed's credentials. Safe to repeat. */
export async function seedDemoTenant(db: Db, options: { publicBaseUrl: string; secrets: DevSecrets }): Promise<{ tenant: Tenant; owner: User; credentials: DevCredentials }> {
  // The seed samples' own hosts (SAP's www.myserviceprovider.com) are allowed, so they work as printed.
  const hosts = [new URL(options.publicBaseUrl).host, 'example.com', 'www.myserviceprovider.com'];
  const found = await upsertDemoTenant(db, { slug: DEMO_TENANT_SLUG, name: 'Demo Workspace', homeUrl: `${options.publicBaseUrl}/`, allowedRedirectHosts: hosts });
  const roles: Record<string, string> = {};
  for (const [slug, name, rank] of [
    ['owner', 'Owner', 100],
    ['admin', 'Admin', 50],
    ['member', 'Member', 10],
  ] as const) {
    roles[slug] = await ensureRole(db, found.id, { slug, name, rank });
  }
  const owner = await upsertUser(db, { tenantId: found.id, email: DEMO_OWNER_EMAIL, firstName: 'Olive', lastName: 'Owner' });
  await ensureMembership(db, { tenantId: found.id, userId: owner.id, roleId: roles.owner! });
  await createApiKey(db, { tenantId: found.id, userId: owner.id, name: 'dev', secret: options.secrets.apiKey, ...OWNER_KEY });
  const credentials = await seedCompatCredentials(db, { tenant: found, ownerId: owner.id, ownerEmail: owner.email, roles, secrets: options.secrets, publicBaseUrl: options.publicBaseUrl });
  const tenant = await findTenantById(db, found.id);
  return { tenant, owner, credentials };
}

export const QUICKBASE_SAMPLE = { dbid: 'target_dbid', ticket: 'auth_ticket', apptoken: 'app_token', userid: '112249.ctdg' } as const;

/** Per-seed credentials for a tenant whose owner acts for every seed route. Used by `usher dev` and by the tests. */
export async function seedCompatCredentials(
  db: Db,
  input: { tenant: Tenant; ownerId: string; ownerEmail: string; roles: Record<string, string>; secrets: DevSecrets; publicBaseUrl: string; quickbaseDbid?: string; royaltiWorkspaceId?: string },
): Promise<DevCredentials> {
  const { tenant, secrets } = input;
  const dbid = input.quickbaseDbid ?? QUICKBASE_SAMPLE.dbid;
  const workspaceId = input.royaltiWorkspaceId ?? tenant.slug;
  await setSeedIdentities(db, tenant.id, { mendixEnvironmentUuid: secrets.mendixEnvironmentUuid, quickbaseDbid: dbid, royaltiWorkspaceId: workspaceId, royaltiJwtKey: secrets.royaltiJwtKey });
  const owner = { tenantId: tenant.id, userId: input.ownerId };
  await addCredential(db, { ...owner, kind: 'mendix-environment', identifier: secrets.mendixEnvironmentUuid, secret: secrets.mendixPassword });
  await addCredential(db, { ...owner, kind: 'quickbase-user-token', token: secrets.quickbaseUserToken });
  await addCredential(db, { ...owner, kind: 'quickbase-password', identifier: input.ownerEmail.toLowerCase(), secret: secrets.quickbasePassword, strength: 'password' });
  await addCredential(db, { ...owner, kind: 'quickbase-ticket', token: QUICKBASE_SAMPLE.ticket, data: { sample: true } });
  await addCredential(db, { ...owner, userId: null, kind: 'quickbase-app-token', token: QUICKBASE_SAMPLE.apptoken });
  await addCredential(db, { ...owner, kind: 'sap-client', identifier: `${tenant.slug}-sap-client`, secret: secrets.sapClientSecret });
  await addCredential(db, { ...owner, kind: 'akana-session', token: secrets.akanaSession, data: { csrf: secrets.akanaCsrf } });
  // Secrets files written before Akana's login existed have no password: derive one that stays the same per folder.
  const akanaPassword = secrets.akanaPassword ?? sha256(`akana-password:${secrets.akanaSession}`).slice(0, 16);
  await addCredential(db, { ...owner, kind: 'akana-password', identifier: input.ownerEmail.toLowerCase(), secret: akanaPassword, strength: 'password' });
  // Quickbase names users by id: the sample's invitee, provisioned beforehand as API_ProvisionUser would.
  const sampleUser = await upsertUser(db, { tenantId: tenant.id, email: 'quickbase.sample.user@example.com', firstName: 'Sample', lastName: 'User' });
  await setUserExternalId(db, sampleUser.id, QUICKBASE_SAMPLE.userid);
  const ownerQuickbaseId = `${String(Number.parseInt(input.ownerId.replace(/-/g, '').slice(-6), 16) % 1_000_000)}.demo`;
  await setUserExternalId(db, input.ownerId, ownerQuickbaseId, { onlyIfUnset: true });

  const jwt = await new SignJWT({ workspaceId, email: input.ownerEmail })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.ownerId)
    .setIssuedAt()
    // The longest Royalti tokens may live; minted afresh at every start of `usher dev`.
    .setExpirationTime('24h')
    .sign(new TextEncoder().encode(secrets.royaltiJwtKey));

  return {
    tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
    usher: { apiKey: secrets.apiKey },
    mendix: {
      endpoint: `${input.publicBaseUrl}/api/1/invite`,
      EnvironmentUUID: secrets.mendixEnvironmentUuid,
      EnvironmentPassword: secrets.mendixPassword,
      InviterEmailAddress: input.ownerEmail,
      roles: input.roles,
    },
    quickbase: {
      dbid,
      ticket: QUICKBASE_SAMPLE.ticket,
      usertoken: secrets.quickbaseUserToken,
      apptoken: QUICKBASE_SAMPLE.apptoken,
      username: input.ownerEmail,
      password: secrets.quickbasePassword,
      userids: { sample: QUICKBASE_SAMPLE.userid, owner: ownerQuickbaseId },
    },
    sap: { endpoint: `${input.publicBaseUrl}/cps/invite/`, clientId: `${tenant.slug}-sap-client`, clientSecret: secrets.sapClientSecret, homeUrl: tenant.home_url ?? '' },
    akana: {
      endpoint: `${input.publicBaseUrl}/api/users/invitations`,
      login: `${input.publicBaseUrl}/api/login`,
      email: input.ownerEmail,
      password: akanaPassword,
      tenant: tenant.slug,
      cookie: `AtmoAuthToken_${tenant.slug}=${secrets.akanaSession}`,
      csrfHeader: `X-Csrf-Token_${tenant.slug}`,
      csrfToken: secrets.akanaCsrf,
    },
    royalti: { endpoint: `${input.publicBaseUrl}/auth/invite?workspaceId=${encodeURIComponent(workspaceId)}`, workspaceId, jwt, jwtKey: secrets.royaltiJwtKey },
  };
}
