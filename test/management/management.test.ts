import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONFLICT, FORBIDDEN } from '../../src/management/problems';
import { sentTo } from '../support/mail';
import { ADMIN_TOKEN, call, countWhere, DAY_MS, expectProblem, mailbox, makeTenant, ok, stack, unique, useManagementApi } from '../support/management-api';
import { body } from '../support/stack';

useManagementApi();

describe('an operator, through the API alone', () => {
  it('creates a tenant, its roles, a user and a key, and invites with it; the invitee gets the email and accepts', async () => {
    const slug = unique('northwind');
    const ownerEmail = `Olive.Owner@${slug}.example.com`;
    const response = await call('/v1/tenants', {
      method: 'POST',
      auth: ADMIN_TOKEN,
      json: { slug, name: 'Northwind Traders', owner: { email: ownerEmail, firstName: 'Olive', lastName: 'Owner' } },
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const made = await ok(response, 201);
    expect(response.headers.get('location')).toBe(`/v1/tenants/${made.tenant.id}`);
    expect(made.tenant).toMatchObject({
      slug,
      name: 'Northwind Traders',
      invitationsEnabled: true,
      defaultTtlDays: 14,
      reminderDays: [2, 5, 10],
      allowedRedirectHosts: [],
      homeUrl: null,
      defaultRoleSlug: 'member',
      royaltiJwtKeySet: false,
    });
    expect(made.owner).toMatchObject({ email: ownerEmail, firstName: 'Olive', role: { slug: 'owner', rank: 100 } });
    expect(made.apiKey).toMatchObject({ name: 'owner', user: { id: made.owner.id, email: ownerEmail }, revokedAt: null });
    expect(made.apiKey.secret).toMatch(/^usher_[A-Za-z0-9_-]{32}$/);
    // Only the hash is stored.
    const stored = await stack.db.selectFrom('api_keys').select('key_hash').where('id', '=', made.apiKey.id).executeTakeFirstOrThrow();
    expect(stored.key_hash).not.toContain(made.apiKey.secret);
    const ownerKey: string = made.apiKey.secret;

    // The operator sees it too.
    expect(await ok(await call(`/v1/tenants/${made.tenant.id}`, { auth: ADMIN_TOKEN }))).toEqual(made.tenant);

    // With the owner's key: the tenant and its default roles.
    expect(await ok(await call('/v1/tenant', { auth: ownerKey }))).toEqual(made.tenant);
    const roles = await ok(await call('/v1/roles', { auth: ownerKey }));
    expect(roles.data.map((r: any) => [r.slug, r.rank])).toEqual([
      ['owner', 100],
      ['admin', 50],
      ['member', 10],
    ]);

    // A role, a user, a membership, and a key for that user.
    const editorRole = await ok(await call('/v1/roles', { method: 'POST', auth: ownerKey, json: { slug: 'editor', name: 'Editor', rank: 30 } }), 201);
    expect(editorRole).toMatchObject({ slug: 'editor', name: 'Editor', rank: 30 });
    const editorEmail = mailbox('eddie');
    const editor = await ok(await call('/v1/users', { method: 'POST', auth: ownerKey, json: { email: editorEmail, firstName: 'Eddie', externalId: 'crm-42' } }), 201);
    expect(editor).toMatchObject({ email: editorEmail, firstName: 'Eddie', lastName: null, externalId: 'crm-42', role: null });
    const granted = await call(`/v1/users/${editor.id}/membership`, { method: 'PUT', auth: ownerKey, json: { role: 'editor' } });
    expect((await ok(granted, 201)).role).toMatchObject({ id: editorRole.id, slug: 'editor' });
    // The same grant again changes nothing.
    expect((await ok(await call(`/v1/users/${editor.id}/membership`, { method: 'PUT', auth: ownerKey, json: { role: 'editor' } }))).role.slug).toBe('editor');
    const editorKeyResponse = await call('/v1/api-keys', { method: 'POST', auth: ownerKey, json: { name: 'editor integration', userId: editor.id, scopes: ['invitations:read', 'invitations:write', 'management'] } });
    expect(editorKeyResponse.headers.get('cache-control')).toBe('no-store');
    const editorKey = await ok(editorKeyResponse, 201);
    expect(editorKey).toMatchObject({ name: 'editor integration', user: { id: editor.id, email: editorEmail } });

    // Settings: where invitees may be sent, how long invitations last, when reminders go.
    const settings = await ok(
      await call('/v1/tenant', {
        method: 'PATCH',
        auth: ownerKey,
        json: { allowedRedirectHosts: ['App.Northwind.example', 'localhost:8080', '127.0.0.1:45000'], homeUrl: 'https://app.northwind.example/', defaultTtlDays: 7, reminderDays: [3, 1, 3] },
      }),
    );
    expect(settings).toMatchObject({ allowedRedirectHosts: ['app.northwind.example', 'localhost:8080', '127.0.0.1:45000'], defaultTtlDays: 7, reminderDays: [1, 3], homeUrl: 'https://app.northwind.example/' });

    // The editor's key invites someone; the email arrives over SMTP; the invitee accepts with the token from the link.
    const invitee = mailbox('ivy');
    const invitation = await ok(
      await call('/v1/invitations', { method: 'POST', auth: editorKey.secret, json: { email: invitee, role: 'member', redirectUrl: 'https://app.northwind.example/welcome' } }),
      201,
    );
    expect(invitation).toMatchObject({ status: 'pending', inviter: { id: editor.id }, role: { slug: 'member' } });
    expect(Date.parse(invitation.expiresAt) - Date.parse(invitation.createdAt)).toBe(7 * DAY_MS);
    const email = await stack.mail.waitFor(sentTo(invitee));
    expect(email.acceptLink).toBeTruthy();
    const token = new URL(email.acceptLink!).pathname.split('/').at(-1)!;
    const accepted = await ok(await call('/v1/invitations/accept', { method: 'POST', json: { token } }));
    expect(accepted).toEqual({ invitationId: invitation.id, status: 'accepted', redirectUrl: 'https://app.northwind.example/welcome' });

    // The invitee is now a member, visible to the owner.
    const found = await ok(await call(`/v1/users?email=${encodeURIComponent(invitee.toUpperCase())}`, { auth: ownerKey }));
    expect(found.data).toHaveLength(1);
    expect(found.data[0]).toMatchObject({ email: invitee, role: { slug: 'member' } });
    const everyone = await ok(await call('/v1/users', { auth: ownerKey }));
    expect(everyone.data.map((u: any) => [u.email, u.role?.slug ?? null])).toEqual([
      [invitee, 'member'],
      [editorEmail, 'editor'],
      [ownerEmail, 'owner'],
    ]);

    // The editor's key may invite and read the tenant and its roles, but not manage it.
    expect((await ok(await call('/v1/tenant', { auth: editorKey.secret }))).slug).toBe(slug);
    expect((await ok(await call('/v1/roles', { auth: editorKey.secret }))).data).toHaveLength(4);
    await expectProblem(await call('/v1/roles', { method: 'POST', auth: editorKey.secret, json: { slug: 'boss', name: 'Boss', rank: 20 } }), 403, FORBIDDEN);
    await expectProblem(await call('/v1/api-keys', { auth: editorKey.secret }), 403, FORBIDDEN);
    await expectProblem(await call('/v1/users', { auth: editorKey.secret }), 403, FORBIDDEN);
    await expectProblem(await call('/v1/tenant', { method: 'PATCH', auth: editorKey.secret, json: { invitationsEnabled: false } }), 403, FORBIDDEN);
    // A key made without the management scope is refused for that, by name, whoever its user is.
    const plainKey = await ok(await call('/v1/api-keys', { method: 'POST', auth: ownerKey, json: { name: 'invites only' } }), 201);
    expect(plainKey).toMatchObject({ kind: 'member', scopes: ['invitations:read', 'invitations:write'], maxRank: null });
    const missing = await expectProblem(await call('/v1/users', { auth: plainKey.secret }), 403, 'missing-scope');
    expect(missing.detail).toContain('management');

    // Keys are listed without secrets; the one in use is marked.
    const keysResponse = await call('/v1/api-keys', { auth: ownerKey });
    const keysText = await keysResponse.clone().text();
    expect(keysText).not.toContain(ownerKey);
    expect(keysText).not.toContain(editorKey.secret);
    expect(keysText).not.toContain('hash');
    const keys = await ok(keysResponse);
    expect(keys.data.map((k: any) => [k.id, k.current])).toEqual([
      [plainKey.id, false],
      [editorKey.id, false],
      [made.apiKey.id, true],
    ]);

    // What was done is on the tenant's audit log.
    const audit = await stack.db.selectFrom('audit_events').select(['action', 'actor']).where('tenant_id', '=', made.tenant.id).where('invitation_id', 'is', null).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['tenant.created', 'api-key.created', 'role.created', 'user.created', 'membership.created', 'api-key.created', 'tenant.updated', 'api-key.created']);
    expect(audit[0]!.actor).toBe('operator');
    expect(audit[2]!.actor).toBe(`api-key:${made.apiKey.id}`);
  });

});

describe('tenant isolation', () => {
  it("a key of tenant A sees nothing of tenant B's roles, users, keys or credentials, and can change none", async () => {
    const a = await makeTenant();
    const b = await makeTenant();
    const bRoles = (await ok(await call('/v1/roles', { auth: b.key }))).data;
    const bUser = await ok(await call('/v1/users', { method: 'POST', auth: b.key, json: { email: mailbox('bee') } }), 201);
    const bKey = await ok(await call('/v1/api-keys', { method: 'POST', auth: b.key, json: { name: 'b-second' } }), 201);
    const bCredential = await ok(await call('/v1/compat-credentials', { method: 'POST', auth: b.key, json: { kind: 'sap-client' } }), 201);

    // Listings show only A's own.
    expect((await ok(await call('/v1/tenant', { auth: a.key }))).id).toBe(a.id);
    const aRoles = (await ok(await call('/v1/roles', { auth: a.key }))).data;
    expect(aRoles.map((r: any) => r.id).some((id: string) => bRoles.some((r: any) => r.id === id))).toBe(false);
    expect((await ok(await call('/v1/users', { auth: a.key }))).data.map((u: any) => u.id)).toEqual([a.owner.id]);
    expect((await ok(await call('/v1/api-keys', { auth: a.key }))).data.map((k: any) => k.id)).toEqual([a.keyId]);
    expect((await ok(await call('/v1/compat-credentials', { auth: a.key }))).data).toEqual([]);
    expect((await ok(await call(`/v1/users?email=${encodeURIComponent(bUser.email)}`, { auth: a.key }))).data).toEqual([]);

    // B's resources by id are 404 to A, and nothing changes.
    const bRole = bRoles.find((r: any) => r.slug === 'admin');
    await expectProblem(await call(`/v1/roles/${bRole.id}`, { auth: a.key }), 404, 'not-found');
    await expectProblem(await call(`/v1/roles/${bRole.id}`, { method: 'PATCH', auth: a.key, json: { name: 'Hijacked' } }), 404, 'not-found');
    await expectProblem(await call(`/v1/roles/${bRole.id}`, { method: 'DELETE', auth: a.key }), 404, 'not-found');
    await expectProblem(await call(`/v1/users/${bUser.id}`, { auth: a.key }), 404, 'not-found');
    await expectProblem(await call(`/v1/users/${bUser.id}`, { method: 'PATCH', auth: a.key, json: { firstName: 'Mallory' } }), 404, 'not-found');
    await expectProblem(await call(`/v1/users/${bUser.id}/membership`, { method: 'PUT', auth: a.key, json: { role: 'member' } }), 404, 'not-found');
    await expectProblem(await call(`/v1/users/${b.owner.id}/membership`, { method: 'DELETE', auth: a.key }), 404, 'not-found');
    await expectProblem(await call(`/v1/api-keys/${bKey.id}`, { method: 'DELETE', auth: a.key }), 404, 'not-found');
    await expectProblem(await call(`/v1/compat-credentials/${bCredential.id}`, { method: 'DELETE', auth: a.key }), 404, 'not-found');
    // Nor can A issue a key or a credential for B's user.
    await expectProblem(await call('/v1/api-keys', { method: 'POST', auth: a.key, json: { name: 'sneaky', userId: bUser.id } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/compat-credentials', { method: 'POST', auth: a.key, json: { kind: 'akana-session', userId: b.owner.id } }), 400, 'invalid-request');

    expect((await ok(await call(`/v1/roles/${bRole.id}`, { auth: b.key }))).name).toBe('Admin');
    expect((await ok(await call(`/v1/users/${bUser.id}`, { auth: b.key }))).firstName).toBeNull();
    expect((await call('/v1/tenant', { auth: bKey.secret })).status).toBe(200);
    expect((await ok(await call('/v1/compat-credentials', { auth: b.key }))).data[0].revokedAt).toBeNull();
    expect(await countWhere('api_keys', 'tenant_id', b.id)).toBe(2);
    expect(await countWhere('users', 'tenant_id', a.id)).toBe(1);
  });
});

describe('duplicates', () => {
  it('answers 409 for a taken tenant slug, role slug, user email, externalId or seed identifier, and writes nothing', async () => {
    const tenant = await makeTenant();
    const again = await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, json: { slug: tenant.slug, name: 'Copycat', owner: { email: 'copy@example.com' } } });
    const problem = await expectProblem(again, 409, CONFLICT);
    expect(problem.errors).toEqual([{ path: 'slug', message: expect.any(String) }]);
    expect(await countWhere('users', 'email_canonical', 'copy@example.com')).toBe(0);

    await expectProblem(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'admin', name: 'Second admin', rank: 40 } }), 409, CONFLICT);
    const extra = await ok(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'viewer', name: 'Viewer', rank: 5 } }), 201);
    await expectProblem(await call(`/v1/roles/${extra.id}`, { method: 'PATCH', auth: tenant.key, json: { slug: 'member' } }), 409, CONFLICT);
    expect((await ok(await call(`/v1/roles/${extra.id}`, { auth: tenant.key }))).slug).toBe('viewer');

    const address = mailbox('dup');
    const first = await ok(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: address, externalId: 'ext-1' } }), 201);
    const dupEmail = await expectProblem(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: address.toUpperCase() } }), 409, CONFLICT);
    expect(dupEmail.errors).toEqual([{ path: 'email', message: expect.any(String) }]);
    await expectProblem(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: mailbox('other'), externalId: 'ext-1' } }), 409, CONFLICT);
    const second = await ok(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: mailbox('second') } }), 201);
    await expectProblem(await call(`/v1/users/${second.id}`, { method: 'PATCH', auth: tenant.key, json: { externalId: 'ext-1' } }), 409, CONFLICT);
    // Setting a user's own externalId again is no conflict.
    expect((await ok(await call(`/v1/users/${first.id}`, { method: 'PATCH', auth: tenant.key, json: { externalId: 'ext-1', lastName: 'First' } }))).lastName).toBe('First');
    expect(await countWhere('users', 'tenant_id', tenant.id)).toBe(3);

    // The same address is fine in another tenant.
    const other = await makeTenant();
    await ok(await call('/v1/users', { method: 'POST', auth: other.key, json: { email: address } }), 201);

    // Seed identifiers are unique across tenants.
    const dbid = `db${randomBytes(4).toString('hex')}`;
    await ok(await call('/v1/tenant', { method: 'PATCH', auth: tenant.key, json: { quickbaseDbid: dbid } }));
    const taken = await expectProblem(await call('/v1/tenant', { method: 'PATCH', auth: other.key, json: { quickbaseDbid: dbid, name: 'Renamed' } }), 409, CONFLICT);
    expect(taken.errors).toEqual([{ path: 'quickbaseDbid', message: expect.any(String) }]);
    expect((await ok(await call('/v1/tenant', { auth: other.key }))).name).toBe(`Acme ${other.slug}`);
    const creating = await call('/v1/tenants', {
      method: 'POST',
      auth: ADMIN_TOKEN,
      json: { slug: unique('late'), name: 'Late', settings: { quickbaseDbid: dbid }, owner: { email: 'late@example.com' } },
    });
    expect((await expectProblem(creating, 409, CONFLICT)).errors).toEqual([{ path: 'settings.quickbaseDbid', message: expect.any(String) }]);
    expect(await countWhere('users', 'email_canonical', 'late@example.com')).toBe(0);
  });
});

describe('races', () => {
  it('simultaneous duplicates give one 201 and 409s; two owners demoting each other at once leave one owner', async () => {
    const slug = unique('race');
    const tenants = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, json: { slug, name: 'Race', owner: { email: `o${i}@${slug}.example.com` } } })),
    );
    expect(tenants.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const winner = await body(tenants.find((r) => r.status === 201)!);
    expect(await countWhere('tenants', 'slug', slug)).toBe(1);
    const tenantUsers = await stack.db.selectFrom('users').innerJoin('tenants', 'tenants.id', 'users.tenant_id').select('users.email').where('tenants.slug', '=', slug).execute();
    expect(tenantUsers.map((u) => u.email)).toEqual([winner.owner.email]);
    const key: string = winner.apiKey.secret;

    const address = mailbox('same');
    const users = await Promise.all(Array.from({ length: 8 }, () => call('/v1/users', { method: 'POST', auth: key, json: { email: address } })));
    expect(users.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);

    // Two owners, each demoting the other at the same moment: the tenant lock orders them, and one owner remains.
    const second = await body(users.find((r) => r.status === 201)!);
    await ok(await call(`/v1/users/${second.id}/membership`, { method: 'PUT', auth: key, json: { role: 'owner' } }), 201);
    const secondKey = (await ok(await call('/v1/api-keys', { method: 'POST', auth: key, json: { name: 'second owner', userId: second.id, scopes: ['invitations:read', 'invitations:write', 'management'] } }), 201)).secret;
    const both = await Promise.all([
      call(`/v1/users/${second.id}/membership`, { method: 'PUT', auth: key, json: { role: 'admin' } }),
      call(`/v1/users/${winner.owner.id}/membership`, { method: 'PUT', auth: secondKey, json: { role: 'admin' } }),
    ]);
    // The loser is refused either by the invariant (409) or, if it starts after the winner committed, as no longer an owner (403).
    const statuses = both.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const roles = (await stack.db
      .selectFrom('memberships')
      .innerJoin('roles', 'roles.id', 'memberships.role_id')
      .select('roles.slug')
      .where('memberships.tenant_id', '=', winner.tenant.id)
      .execute()).map((r) => r.slug);
    expect(roles.sort()).toEqual(['admin', 'owner']);
  });
});

describe('bad input', () => {
  it('is refused with 400 and writes nothing', async () => {
    const slug = unique('bad');
    const tenantBody = (extra: Record<string, unknown>) => ({ slug, name: 'Bad', owner: { email: `o@${slug}.example.com` }, ...extra });
    const refusals: [Record<string, unknown>, string][] = [
      [{ surprise: true }, '(body)'],
      [{ slug: 'Not A Slug' }, 'slug'],
      [{ owner: { email: 'o@x.example.com\r\nBcc: evil@example.com' } }, 'owner.email'],
      [{ settings: { reminderDays: [20] } }, 'settings.reminderDays'],
      [{ settings: { defaultTtlDays: 3 } }, 'settings.reminderDays'],
      [{ settings: { defaultTtlDays: 400, reminderDays: [] } }, 'settings.defaultTtlDays'],
      [{ settings: { allowedRedirectHosts: ['https://app.example.com/'] } }, 'settings.allowedRedirectHosts.0'],
      [{ settings: { defaultRoleSlug: 'guest' } }, 'settings.defaultRoleSlug'],
      [{ roles: [{ slug: 'boss', name: 'Boss', rank: 1 }, { slug: 'boss', name: 'Boss', rank: 2 }] }, 'roles'],
      [{ roles: [{ slug: 'boss', name: 'Boss', rank: 1.5 }] }, 'roles.0.rank'],
    ];
    for (const [extra, path] of refusals) {
      const problem = await expectProblem(await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, json: tenantBody(extra) }), 400, 'invalid-request');
      expect(problem.errors.map((e: { path: string }) => e.path), JSON.stringify(extra)).toContain(path);
    }
    await expectProblem(await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, body: '{"slug":', headers: { 'content-type': 'application/json' } }), 400, 'malformed-json');
    await expectProblem(await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, body: 'slug=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    expect(await countWhere('tenants', 'slug', slug)).toBe(0);
    expect(await countWhere('users', 'email_canonical', `o@${slug}.example.com`)).toBe(0);

    // Roles given explicitly: the owner gets the highest; the default role must be among them.
    const custom = await ok(
      await call('/v1/tenants', {
        method: 'POST',
        auth: ADMIN_TOKEN,
        json: tenantBody({ roles: [{ slug: 'viewer', name: 'Viewer', rank: 1 }, { slug: 'chief', name: 'Chief', rank: 9 }] }),
      }),
      201,
    );
    expect(custom.owner.role.slug).toBe('chief');
    expect(custom.tenant.defaultRoleSlug).toBe('viewer');

    const tenant = await makeTenant();
    const before = await ok(await call('/v1/tenant', { auth: tenant.key }));
    const patches: [Record<string, unknown>, string][] = [
      [{ defaultTtlDays: 3 }, 'reminderDays'],
      [{ defaultTtlDays: 0 }, 'defaultTtlDays'],
      [{ reminderDays: [0] }, 'reminderDays.0'],
      [{ reminderDays: [14] }, 'reminderDays'],
      [{ defaultRoleSlug: 'nope' }, 'defaultRoleSlug'],
      [{ homeUrl: 'javascript:alert(1)' }, 'homeUrl'],
      [{ allowedRedirectHosts: ['user@evil.example'] }, 'allowedRedirectHosts.0'],
      // What /openapi.json's pattern calls invalid is refused, even where a URL would parse it.
      [{ allowedRedirectHosts: ['app.example.1b'] }, 'allowedRedirectHosts.0'],
      [{ allowedRedirectHosts: [' app.example.com'] }, 'allowedRedirectHosts.0'],
      [{ allowedRedirectHosts: ['app.example.com:443'] }, 'allowedRedirectHosts.0'],
      [{ royaltiJwtKey: 'too-short' }, 'royaltiJwtKey'],
      [{ mendixEnvironmentUuid: 'not-a-uuid' }, 'mendixEnvironmentUuid'],
      [{ slug: 'renamed' }, '(body)'],
      [{ name: '' }, 'name'],
      [{ invitationsEnabled: 'yes' }, 'invitationsEnabled'],
    ];
    for (const [patch, path] of patches) {
      const problem = await expectProblem(await call('/v1/tenant', { method: 'PATCH', auth: tenant.key, json: { name: 'Changed', ...patch } }), 400, 'invalid-request');
      expect(problem.errors.map((e: { path: string }) => e.path), JSON.stringify(patch)).toContain(path);
    }
    expect(await ok(await call('/v1/tenant', { auth: tenant.key }))).toEqual(before);
    // Shortening the TTL works when the reminders come along.
    expect(await ok(await call('/v1/tenant', { method: 'PATCH', auth: tenant.key, json: { defaultTtlDays: 3, reminderDays: [1, 2] } }))).toMatchObject({ defaultTtlDays: 3, reminderDays: [1, 2] });

    await expectProblem(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'Big Boss', name: 'Boss', rank: 10 } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'boss', name: 'Boss' } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/roles', { method: 'POST', auth: tenant.key, json: { slug: 'boss', name: 'Boss', rank: 101 } }), 403, FORBIDDEN);
    expect(await countWhere('roles', 'tenant_id', tenant.id)).toBe(3);

    await expectProblem(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: 'not-an-address' } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/users', { method: 'POST', auth: tenant.key, json: { email: mailbox('u'), admin: true } }), 400, 'invalid-request');
    expect(await countWhere('users', 'tenant_id', tenant.id)).toBe(1);

    await expectProblem(await call('/v1/users/not-an-id', { auth: tenant.key }), 400, 'invalid-request');
    await expectProblem(await call('/v1/tenant', { method: 'PUT', auth: tenant.key, json: { name: 'x' } }), 405, 'method-not-allowed');
    await expectProblem(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'POST', auth: tenant.key, json: { role: 'admin' } }), 405, 'method-not-allowed');
    await expectProblem(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'PUT', auth: tenant.key, json: { role: 'emperor' } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/api-keys', { method: 'POST', auth: tenant.key, json: { name: '' } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/compat-credentials', { method: 'POST', auth: tenant.key, json: { kind: 'carrier-pigeon' } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/compat-credentials', { method: 'POST', auth: tenant.key, json: { kind: 'sap-client', token: 'x' } }), 400, 'invalid-request');
    await expectProblem(await call('/v1/compat-credentials', { method: 'POST', auth: tenant.key, json: { kind: 'akana-session', expiresAt: '2001-01-01T00:00:00Z' } }), 400, 'invalid-request');
    expect(await countWhere('api_keys', 'tenant_id', tenant.id)).toBe(1);
    expect(await countWhere('compat_credentials', 'tenant_id', tenant.id)).toBe(0);
    expect((await ok(await call(`/v1/users/${tenant.owner.id}`, { auth: tenant.key }))).role.slug).toBe('owner');
  });
});
