import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, countWhere, expectProblem, makeTenant, ok, stack, unique, useManagementApi } from '../support/management-api';

useManagementApi();

describe('operator endpoints', () => {
  it('refuse without the admin token, with a wrong one, or with a tenant key; and do not exist where no token is set', async () => {
    const tenant = await makeTenant();
    const json = { slug: unique('intruder'), name: 'Intruder', owner: { email: 'intruder@example.com' } };
    for (const auth of [null, 'a-wrong-admin-token-of-24-chars-or-more', ADMIN_TOKEN.slice(0, -1), tenant.key]) {
      await expectProblem(await call('/v1/tenants', { method: 'POST', auth, json }), 401, 'unauthorized');
      await expectProblem(await call('/v1/tenants', { auth }), 401, 'unauthorized');
      await expectProblem(await call(`/v1/tenants/${tenant.id}`, { auth }), 401, 'unauthorized');
      await expectProblem(await call(`/v1/tenants/${tenant.id}/api-keys`, { method: 'POST', auth, json: { name: 'x', email: tenant.owner.email } }), 401, 'unauthorized');
    }
    expect(await countWhere('tenants', 'slug', json.slug)).toBe(0);
    // The admin token is not an API key.
    await expectProblem(await call('/v1/tenant', { auth: ADMIN_TOKEN }), 401, 'unauthorized');

    // The stack's own API was started without an admin token: the operator surface is not there.
    await expectProblem(await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, json }, stack.baseUrl), 404, 'not-found');
    await expectProblem(await call('/v1/tenants', { auth: ADMIN_TOKEN }, stack.baseUrl), 404, 'not-found');
    expect(await countWhere('tenants', 'slug', json.slug)).toBe(0);
  });

  it('list tenants page by page, read one, and issue a recovery key for a user', async () => {
    const made = [await makeTenant(), await makeTenant(), await makeTenant()];
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await ok(await call(`/v1/tenants?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: ADMIN_TOKEN }));
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((t: any) => t.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen.indexOf(made[2]!.id)).toBeLessThan(seen.indexOf(made[1]!.id));
    expect(seen.indexOf(made[1]!.id)).toBeLessThan(seen.indexOf(made[0]!.id));
    expect(new Set(seen).size).toBe(seen.length);
    const bySlug = await ok(await call(`/v1/tenants?slug=${made[1]!.slug}`, { auth: ADMIN_TOKEN }));
    expect(bySlug).toEqual({ data: [expect.objectContaining({ id: made[1]!.id })], nextCursor: null });
    await expectProblem(await call('/v1/tenants?limit=0', { auth: ADMIN_TOKEN }), 400, 'invalid-request');
    await expectProblem(await call('/v1/tenants?cursor=garbage', { auth: ADMIN_TOKEN }), 400, 'invalid-request');

    expect((await ok(await call(`/v1/tenants/${made[0]!.id}`, { auth: ADMIN_TOKEN }))).slug).toBe(made[0]!.slug);
    await expectProblem(await call('/v1/tenants/0190a0b2-0000-7000-8000-000000000000', { auth: ADMIN_TOKEN }), 404, 'not-found');

    const recovery = await ok(await call(`/v1/tenants/${made[0]!.id}/api-keys`, { method: 'POST', auth: ADMIN_TOKEN, json: { name: 'recovery', email: made[0]!.owner.email.toUpperCase() } }), 201);
    expect(recovery.user.id).toBe(made[0]!.owner.id);
    expect((await ok(await call('/v1/api-keys', { auth: recovery.secret }))).data).toHaveLength(2);
    await expectProblem(await call(`/v1/tenants/${made[0]!.id}/api-keys`, { method: 'POST', auth: ADMIN_TOKEN, json: { name: 'x', email: 'nobody@example.com' } }), 400, 'invalid-request');
    await expectProblem(await call(`/v1/tenants/${made[0]!.id}/api-keys`, { method: 'POST', auth: ADMIN_TOKEN, json: { name: 'x' } }), 400, 'invalid-request');
  });
});
