import { createApiKey } from '../../src/db/api-keys';
import type { Db } from '../../src/db/connect';
import type { ApiKeyKind, ApiKeyScope } from '../../src/db/database';
import { upsertUser } from '../../src/db/users';
import { newId } from '../../src/lib/ids';

export interface TestTenant {
  id: string;
  slug: string;
  roles: Record<'owner' | 'admin' | 'member', string>;
  owner: { id: string; email: string; apiKey: string };
}

let counter = 0;

/** A tenant with roles owner > admin > member and an owner holding an API key. */
export async function createTestTenant(
  db: Db,
  options: { allowedRedirectHosts?: string[]; homeUrl?: string; reminderDays?: number[]; defaultTtlDays?: number } = {},
): Promise<TestTenant> {
  const slug = `t${++counter}-${newId().slice(-8)}`;
  const id = newId();
  await db
    .insertInto('tenants')
    .values({
      id,
      slug,
      name: `Tenant ${slug}`,
      allowed_redirect_hosts: options.allowedRedirectHosts ?? ['app.example.com'],
      home_url: options.homeUrl ?? 'https://app.example.com/home',
      ...(options.reminderDays ? { reminder_days: options.reminderDays } : {}),
      ...(options.defaultTtlDays ? { default_ttl_days: options.defaultTtlDays } : {}),
    })
    .execute();
  const roles = {} as TestTenant['roles'];
  for (const [slugName, rank] of [
    ['owner', 100],
    ['admin', 50],
    ['member', 10],
  ] as const) {
    roles[slugName] = newId();
    await db.insertInto('roles').values({ id: roles[slugName], tenant_id: id, slug: slugName, name: slugName[0]!.toUpperCase() + slugName.slice(1), rank }).execute();
  }
  // The owner's key is its product's back end: a server key, as a tenant's first key is.
  const owner = await addMember(db, { tenantId: id, roleId: roles.owner, email: `owner@${slug}.example.com`, kind: 'server' });
  return { id, slug, roles, owner };
}

export async function addMember(db: Db, input: { tenantId: string; roleId: string; email: string; kind?: ApiKeyKind; scopes?: ApiKeyScope[] }) {
  const user = await upsertUser(db, { tenantId: input.tenantId, email: input.email, firstName: 'Test', lastName: 'User' });
  await db.insertInto('memberships').values({ tenant_id: input.tenantId, user_id: user.id, role_id: input.roleId, invitation_id: null }).execute();
  const { secret } = await createApiKey(db, {
    tenantId: input.tenantId,
    userId: user.id,
    name: 'test',
    kind: input.kind ?? 'member',
    scopes: input.scopes ?? ['invitations:read', 'invitations:write', 'management'],
  });
  return { id: user.id, email: user.email, apiKey: secret };
}
