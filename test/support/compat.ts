import { type DevCredentials, newDevSecrets, seedCompatCredentials } from '../../src/main/dev/seed';
import type { Stack } from './stack';

/**
 * Gives the stack's tenant every seed API's credentials, exactly as `usher dev` gives the demo tenant: Quickbase's
 * sample values (`target_dbid`, `auth_ticket`, `app_token`, user `112249.ctdg`) are accepted as they stand.
 */
export async function seedCompat(stack: Stack): Promise<DevCredentials> {
  const tenant = await stack.db.selectFrom('tenants').selectAll().where('id', '=', stack.tenant.id).executeTakeFirstOrThrow();
  await stack.db
    .updateTable('tenants')
    .set({ allowed_redirect_hosts: [...tenant.allowed_redirect_hosts, 'www.myserviceprovider.com', new URL(stack.baseUrl).host] })
    .where('id', '=', tenant.id)
    .execute();
  return seedCompatCredentials(stack.db, {
    tenant,
    ownerId: stack.tenant.owner.id,
    ownerEmail: stack.tenant.owner.email,
    roles: stack.tenant.roles,
    secrets: newDevSecrets(stack.tenant.owner.apiKey),
    publicBaseUrl: stack.baseUrl,
  });
}
