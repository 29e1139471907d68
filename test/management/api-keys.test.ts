import { describe, expect, it } from 'vitest';
import { call, expectProblem, mailbox, makeTenant, ok, stack, useManagementApi } from '../support/management-api';

useManagementApi();

describe('API keys', () => {
  it('gives a revoked key 401 from the next request on', async () => {
    const tenant = await makeTenant();
    const second = await ok(await call('/v1/api-keys', { method: 'POST', auth: tenant.key, json: { name: 'ci' } }), 201);
    expect(second.user.id).toBe(tenant.owner.id);
    expect((await ok(await call('/v1/tenant', { auth: second.secret }))).id).toBe(tenant.id);

    expect((await call(`/v1/api-keys/${second.id}`, { method: 'DELETE', auth: tenant.key })).status).toBe(204);
    await expectProblem(await call('/v1/tenant', { auth: second.secret }), 401, 'unauthorized');
    await expectProblem(await call('/v1/invitations', { method: 'POST', auth: second.secret, json: { email: mailbox('x'), role: 'member' } }), 401, 'unauthorized');
    await expectProblem(await call('/v1/invitations', { auth: second.secret }, stack.baseUrl), 401, 'unauthorized');

    const listed = await ok(await call('/v1/api-keys', { auth: tenant.key }));
    expect(listed.data.find((k: any) => k.id === second.id).revokedAt).toEqual(expect.any(String));
    // Revoking again changes nothing; an unknown key is 404; the owner's key still works.
    expect((await call(`/v1/api-keys/${second.id}`, { method: 'DELETE', auth: tenant.key })).status).toBe(204);
    await expectProblem(await call('/v1/api-keys/0190a0b2-0000-7000-8000-000000000000', { method: 'DELETE', auth: tenant.key }), 404, 'not-found');
    expect((await call('/v1/tenant', { auth: tenant.key })).status).toBe(200);

    // A key may revoke itself: that request still answers, the next one is refused.
    const self = await ok(await call('/v1/api-keys', { method: 'POST', auth: tenant.key, json: { name: 'short-lived', scopes: ['invitations:read', 'invitations:write', 'management'] } }), 201);
    expect((await call(`/v1/api-keys/${self.id}`, { method: 'DELETE', auth: self.secret })).status).toBe(204);
    await expectProblem(await call('/v1/api-keys', { auth: self.secret }), 401, 'unauthorized');
  });
});
