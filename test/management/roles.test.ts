import { describe, expect, it } from 'vitest';
import { CONFLICT, FORBIDDEN } from '../../src/management/problems';
import { call, expectProblem, mailbox, makeTenant, ok, stack, useManagementApi } from '../support/management-api';

useManagementApi();

describe('roles and memberships', () => {
  it('keep the tenant manageable: roles in use or default stay, and someone always holds the top role', async () => {
    const tenant = await makeTenant();
    const roles = Object.fromEntries((await ok(await call('/v1/roles', { auth: tenant.key }))).data.map((r: any) => [r.slug, r]));

    // The default role and roles in use cannot be deleted.
    const isDefault = await expectProblem(await call(`/v1/roles/${roles.member.id}`, { method: 'DELETE', auth: tenant.key }), 409, CONFLICT);
    expect(isDefault.detail).toMatch(/default/);
    await expectProblem(await call(`/v1/roles/${roles.owner.id}`, { method: 'DELETE', auth: tenant.key }), 409, CONFLICT);
    const user = await ok(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: mailbox('admin') } }), 201);
    await ok(await call(`/v1/users/${user.id}/membership`, { method: 'PUT', auth: tenant.key, json: { role: 'admin' } }), 201);
    const inUse = await expectProblem(await call(`/v1/roles/${roles.admin.id}`, { method: 'DELETE', auth: tenant.key }), 409, CONFLICT);
    expect(inUse).toMatchObject({ members: 1, invitations: 0 });
    // A role an invitation names is in use too.
    const temp = await ok(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'temp', name: 'Temp', rank: 20 } }), 201);
    await ok(await call('/v1/invitations', { method: 'POST', auth: tenant.key, json: { email: mailbox('temp'), role: 'temp', sendEmail: false } }), 201);
    expect(await expectProblem(await call(`/v1/roles/${temp.id}`, { method: 'DELETE', auth: tenant.key }), 409, CONFLICT)).toMatchObject({ members: 0, invitations: 1 });
    // An unused role goes.
    const spare = await ok(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'spare', name: 'Spare', rank: 1 } }), 201);
    expect((await call(`/v1/roles/${spare.id}`, { method: 'DELETE', auth: tenant.key })).status).toBe(204);
    await expectProblem(await call(`/v1/roles/${spare.id}`, { auth: tenant.key }), 404, 'not-found');

    // Renaming the default role carries the default along.
    expect(await ok(await call(`/v1/roles/${roles.member.id}`, { method: 'PATCH', auth: tenant.key, json: { slug: 'staff', name: 'Staff' } }))).toMatchObject({ slug: 'staff', name: 'Staff', rank: 10 });
    expect((await ok(await call('/v1/tenant', { auth: tenant.key }))).defaultRoleSlug).toBe('staff');

    // The only owner cannot step down, leave, or lower the owner role below another held role.
    await expectProblem(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'PUT', auth: tenant.key, json: { role: 'admin' } }), 409, CONFLICT);
    await expectProblem(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'DELETE', auth: tenant.key }), 409, CONFLICT);
    await expectProblem(await call(`/v1/roles/${roles.owner.id}`, { method: 'PATCH', auth: tenant.key, json: { rank: 40 } }), 409, CONFLICT);
    await expectProblem(await call(`/v1/roles/${roles.admin.id}`, { method: 'PATCH', auth: tenant.key, json: { rank: 150 } }), 403, FORBIDDEN);
    expect((await ok(await call(`/v1/users/${tenant.owner.id}`, { auth: tenant.key }))).role.slug).toBe('owner');

    // With a second owner, the first may step down, and then no longer manages.
    await ok(await call(`/v1/users/${user.id}/membership`, { method: 'PUT', auth: tenant.key, json: { role: 'owner' } }));
    const handover = await ok(await call('/v1/api-keys', { method: 'POST', auth: tenant.key, json: { name: 'new owner', userId: user.id, scopes: ['invitations:read', 'invitations:write', 'management'] } }), 201);
    expect((await ok(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'PUT', auth: tenant.key, json: { role: 'admin' } }))).role.slug).toBe('admin');
    await expectProblem(await call('/v1/users', { auth: tenant.key }), 403, FORBIDDEN);
    expect((await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'DELETE', auth: handover.secret })).status).toBe(204);
    expect((await ok(await call(`/v1/users/${tenant.owner.id}`, { auth: handover.secret }))).role).toBeNull();
    await expectProblem(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'DELETE', auth: handover.secret }), 404, 'not-found');
    // A former member's keys died with the membership: no invitation, not even a read.
    await expectProblem(await call('/v1/invitations', { method: 'POST', auth: tenant.key, json: { email: mailbox('late'), role: 'staff' } }), 401, 'unauthorized');
    await expectProblem(await call('/v1/tenant', { auth: tenant.key }), 401, 'unauthorized');
    const keys = await stack.db.selectFrom('api_keys').select('revoked_at').where('user_id', '=', tenant.owner.id).execute();
    expect(keys.every((k) => k.revoked_at !== null)).toBe(true);
  });
});
