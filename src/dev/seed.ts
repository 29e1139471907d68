import type { Db } from '../db/connect';
import { createApiKey } from '../db/api-keys';
import { newId } from '../invitations/ids';
import { upsertUser } from '../db/users';

export const DEMO_TENANT_SLUG = 'demo';
export const DEMO_OWNER_EMAIL = 'owner@demo.usher.localhost';

/** The demo tenant `usher dev` starts with: roles owner > admin > member, an owner, and an API key. Safe to repeat. */
export async function seedDemoTenant(db: Db, options: { apiKey: string; publicBaseUrl: string }) {
  const redirectHost = new URL(options.publicBaseUrl).host;
  await db
    .insertInto('tenants')
    .values({
      id: newId(),
      slug: DEMO_TENANT_SLUG,
      name: 'Demo Workspace',
      home_url: `${options.publicBaseUrl}/`,
      allowed_redirect_hosts: [redirectHost, 'example.com'],
    })
    .onConflict((oc) => oc.column('slug').doNothing())
    .execute();
  const tenant = await db.selectFrom('tenants').selectAll().where('slug', '=', DEMO_TENANT_SLUG).executeTakeFirstOrThrow();
  for (const [slug, name, rank] of [
    ['owner', 'Owner', 100],
    ['admin', 'Admin', 50],
    ['member', 'Member', 10],
  ] as const) {
    await db
      .insertInto('roles')
      .values({ id: newId(), tenant_id: tenant.id, slug, name, rank })
      .onConflict((oc) => oc.columns(['tenant_id', 'slug']).doNothing())
      .execute();
  }
  const owner = await upsertUser(db, { tenantId: tenant.id, email: DEMO_OWNER_EMAIL, firstName: 'Olive', lastName: 'Owner' });
  const ownerRole = await db.selectFrom('roles').select('id').where('tenant_id', '=', tenant.id).where('slug', '=', 'owner').executeTakeFirstOrThrow();
  await db
    .insertInto('memberships')
    .values({ tenant_id: tenant.id, user_id: owner.id, role_id: ownerRole.id, invitation_id: null })
    .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
    .execute();
  await createApiKey(db, { tenantId: tenant.id, userId: owner.id, name: 'dev', secret: options.apiKey });
  return { tenant, owner };
}
