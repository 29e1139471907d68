import { describe, expect, it } from 'vitest';
import { verifyIdentifierSecret, verifyToken } from '../../src/db/compat-credentials';
import { call, DAY_MS, mailbox, makeTenant, ok, stack, useManagementApi } from '../support/management-api';

useManagementApi();

describe('credentials for the seed APIs', () => {
  it('are issued once in the clear, stored hashed, listed without secrets, and stop working when revoked', async () => {
    const tenant = await makeTenant();
    const issue = async (json: Record<string, unknown>) => {
      const response = await call('/v1/compat-credentials', { method: 'POST', auth: tenant.key, json });
      expect(response.headers.get('cache-control')).toBe('no-store');
      return ok(response, 201);
    };

    const mendix = await issue({ kind: 'mendix-environment' });
    const uuid = mendix.secrets.EnvironmentUUID;
    expect(mendix).toMatchObject({ kind: 'mendix-environment', identifier: uuid, userId: tenant.owner.id, revokedAt: null });
    expect((await ok(await call('/v1/tenant', { auth: tenant.key }))).mendixEnvironmentUuid).toBe(uuid);
    expect(await verifyIdentifierSecret(stack.db, 'mendix-environment', uuid, mendix.secrets.EnvironmentPassword)).toMatchObject({ tenantId: tenant.id, credentialId: mendix.id });
    // Issuing again replaces the password: same credential, the old password stops working.
    const rotated = await issue({ kind: 'mendix-environment' });
    expect(rotated.id).toBe(mendix.id);
    expect(rotated.secrets.EnvironmentUUID).toBe(uuid);
    expect(await verifyIdentifierSecret(stack.db, 'mendix-environment', uuid, mendix.secrets.EnvironmentPassword)).toBeUndefined();
    expect(await verifyIdentifierSecret(stack.db, 'mendix-environment', uuid, rotated.secrets.EnvironmentPassword)).toBeDefined();

    const member = await ok(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: mailbox('qb') } }), 201);
    const userToken = await issue({ kind: 'quickbase-user-token', userId: member.id });
    expect(userToken).toMatchObject({ identifier: null, userId: member.id });
    expect(await verifyToken(stack.db, 'quickbase-user-token', userToken.secrets.usertoken)).toMatchObject({ tenantId: tenant.id, userId: member.id });

    const appToken = await issue({ kind: 'quickbase-app-token', token: 'the_app_token_we_already_use' });
    expect(appToken).toMatchObject({ userId: null, secrets: { apptoken: 'the_app_token_we_already_use' } });
    expect(await verifyToken(stack.db, 'quickbase-app-token', 'the_app_token_we_already_use', { tenantId: tenant.id })).toBeDefined();

    const sap = await issue({ kind: 'sap-client' });
    expect(sap.secrets.clientId).toMatch(new RegExp(`^${tenant.slug}-`));
    expect(sap.identifier).toBe(sap.secrets.clientId);
    expect(await verifyIdentifierSecret(stack.db, 'sap-client', sap.secrets.clientId, sap.secrets.clientSecret)).toMatchObject({ userId: tenant.owner.id });
    expect(await verifyIdentifierSecret(stack.db, 'sap-client', sap.secrets.clientId, 'wrong')).toBeUndefined();

    const expiresAt = new Date(Date.now() + 3 * DAY_MS).toISOString();
    const akana = await issue({ kind: 'akana-session', expiresAt });
    expect(akana.expiresAt).toBe(expiresAt);
    expect(akana.secrets).toMatchObject({ csrfHeader: `X-Csrf-Token_${tenant.slug}`, csrfToken: expect.any(String) });
    const [cookieName, session] = akana.secrets.cookie.split('=');
    expect(cookieName).toBe(`AtmoAuthToken_${tenant.slug}`);
    expect(await verifyToken(stack.db, 'akana-session', session)).toMatchObject({ userId: tenant.owner.id, data: { csrf: akana.secrets.csrfToken } });

    // Listed without any secret.
    const listResponse = await call('/v1/compat-credentials', { auth: tenant.key });
    const listText = await listResponse.clone().text();
    for (const secret of [rotated.secrets.EnvironmentPassword, userToken.secrets.usertoken, 'the_app_token_we_already_use', sap.secrets.clientSecret, session, akana.secrets.csrfToken]) {
      expect(listText).not.toContain(secret);
    }
    const listed = await ok(listResponse);
    expect(listed.data.map((c: any) => c.kind).sort()).toEqual(['akana-session', 'mendix-environment', 'quickbase-app-token', 'quickbase-user-token', 'sap-client']);

    // Revoked: refused from then on.
    expect((await call(`/v1/compat-credentials/${sap.id}`, { method: 'DELETE', auth: tenant.key })).status).toBe(204);
    expect(await verifyIdentifierSecret(stack.db, 'sap-client', sap.secrets.clientId, sap.secrets.clientSecret)).toBeUndefined();
    expect((await ok(await call('/v1/compat-credentials', { auth: tenant.key }))).data.find((c: any) => c.id === sap.id).revokedAt).toEqual(expect.any(String));
    expect((await call(`/v1/compat-credentials/${sap.id}`, { method: 'DELETE', auth: tenant.key })).status).toBe(204);

    // Moving the tenant to another Mendix environment retires the old environment's password.
    const newUuid = '5f2c4a8e-9b1d-4e3f-a6c7-0d8e9f1a2b3c';
    await ok(await call('/v1/tenant', { method: 'PATCH', auth: tenant.key, json: { mendixEnvironmentUuid: newUuid.toUpperCase() } }));
    expect((await ok(await call('/v1/tenant', { auth: tenant.key }))).mendixEnvironmentUuid).toBe(newUuid);
    expect(await verifyIdentifierSecret(stack.db, 'mendix-environment', uuid, rotated.secrets.EnvironmentPassword)).toBeUndefined();
    const moved = await issue({ kind: 'mendix-environment' });
    expect(moved.secrets.EnvironmentUUID).toBe(newUuid);

    // The Royalti key is write-only.
    const withKey = await ok(await call('/v1/tenant', { method: 'PATCH', auth: tenant.key, json: { royaltiWorkspaceId: tenant.slug, royaltiJwtKey: 'k'.repeat(40) } }));
    expect(withKey).toMatchObject({ royaltiWorkspaceId: tenant.slug, royaltiJwtKeySet: true });
    expect(JSON.stringify(withKey)).not.toContain('k'.repeat(40));
    expect((await ok(await call('/v1/tenant', { method: 'PATCH', auth: tenant.key, json: { royaltiJwtKey: null } }))).royaltiJwtKeySet).toBe(false);
  });
});
