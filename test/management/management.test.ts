import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyIdentifierSecret, verifyToken } from '../../src/db/compat-credentials';
import { freePort } from '../../src/main/dev/processes';
import { runManagementCommand } from '../../src/management/cli';
import { managementPaths } from '../../src/management/openapi';
import { CONFLICT, FORBIDDEN } from '../../src/management/problems';
import { apiDeps, closeServer, listen } from '../../src/main/wiring';
import { sentTo } from '../support/mail';
import { body, startStack, type Stack } from '../support/stack';

const ADMIN_TOKEN = 'an-admin-token-of-24-chars-or-more';
const DAY_MS = 24 * 60 * 60 * 1000;

let stack: Stack;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startStack();
  // The stack's own API has no operator token; this one, over the same database and Temporal, has.
  const port = await freePort();
  server = await listen(apiDeps(stack.deps, stack.client, undefined, ADMIN_TOKEN), '127.0.0.1', port);
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  if (server) await closeServer(server);
  await stack?.stop();
});

let counter = 0;
const unique = (label: string) => `${label}-${++counter}-${randomBytes(3).toString('hex')}`;
const mailbox = (label: string) => `${unique(label)}@example.com`;

interface Call extends Omit<RequestInit, 'body'> {
  json?: unknown;
  body?: string;
  /** A bearer credential: the admin token or an API key; null sends none. */
  auth?: string | null;
}

function call(path: string, init: Call = {}, at = base): Promise<Response> {
  const { json, auth, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (auth) headers.set('authorization', `Bearer ${auth}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${at}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body, redirect: 'manual' });
}

async function ok(response: Response, status = 200): Promise<any> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return text ? JSON.parse(text) : undefined;
}

async function expectProblem(response: Response, status: number, code?: string): Promise<any> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text);
  expect(problem.status).toBe(status);
  if (code) expect(problem.type).toBe(`urn:usher:problem:${code}`);
  return problem;
}

interface MadeTenant {
  id: string;
  slug: string;
  key: string;
  keyId: string;
  owner: { id: string; email: string };
}

async function makeTenant(extra: Record<string, unknown> = {}): Promise<MadeTenant> {
  const slug = unique('acme');
  const email = `owner@${slug}.example.com`;
  const made = await ok(await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, json: { slug, name: `Acme ${slug}`, owner: { email }, ...extra } }), 201);
  return { id: made.tenant.id, slug, key: made.apiKey.secret, keyId: made.apiKey.id, owner: made.owner };
}

const countWhere = async (table: 'tenants' | 'users' | 'roles' | 'api_keys' | 'memberships' | 'compat_credentials', column: string, value: string) => {
  const row = await stack.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(column as never, '=', value as never)
    .executeTakeFirstOrThrow();
  return Number(row.n);
};

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
    const editorKeyResponse = await call('/v1/api-keys', { method: 'POST', auth: ownerKey, json: { name: 'editor integration', userId: editor.id } });
    expect(editorKeyResponse.headers.get('cache-control')).toBe('no-store');
    const editorKey = await ok(editorKeyResponse, 201);
    expect(editorKey).toMatchObject({ name: 'editor integration', user: { id: editor.id, email: editorEmail } });

    // Settings: where invitees may be sent, how long invitations last, when reminders go.
    const settings = await ok(
      await call('/v1/tenant', {
        method: 'PATCH',
        auth: ownerKey,
        json: { allowedRedirectHosts: ['App.Northwind.example', 'localhost:8080'], homeUrl: 'https://app.northwind.example/', defaultTtlDays: 7, reminderDays: [3, 1, 3] },
      }),
    );
    expect(settings).toMatchObject({ allowedRedirectHosts: ['app.northwind.example', 'localhost:8080'], defaultTtlDays: 7, reminderDays: [1, 3], homeUrl: 'https://app.northwind.example/' });

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

    // Keys are listed without secrets; the one in use is marked.
    const keysResponse = await call('/v1/api-keys', { auth: ownerKey });
    const keysText = await keysResponse.clone().text();
    expect(keysText).not.toContain(ownerKey);
    expect(keysText).not.toContain(editorKey.secret);
    expect(keysText).not.toContain('hash');
    const keys = await ok(keysResponse);
    expect(keys.data.map((k: any) => [k.id, k.current])).toEqual([
      [editorKey.id, false],
      [made.apiKey.id, true],
    ]);

    // What was done is on the tenant's audit log.
    const audit = await stack.db.selectFrom('audit_events').select(['action', 'actor']).where('tenant_id', '=', made.tenant.id).where('invitation_id', 'is', null).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['tenant.created', 'api-key.created', 'role.created', 'user.created', 'membership.created', 'api-key.created', 'tenant.updated']);
    expect(audit[0]!.actor).toBe('operator');
    expect(audit[2]!.actor).toBe(`api-key:${made.apiKey.id}`);
  });

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
    const self = await ok(await call('/v1/api-keys', { method: 'POST', auth: tenant.key, json: { name: 'short-lived' } }), 201);
    expect((await call(`/v1/api-keys/${self.id}`, { method: 'DELETE', auth: self.secret })).status).toBe(204);
    await expectProblem(await call('/v1/api-keys', { auth: self.secret }), 401, 'unauthorized');
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
    const secondKey = (await ok(await call('/v1/api-keys', { method: 'POST', auth: key, json: { name: 'second owner', userId: second.id } }), 201)).secret;
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
    const handover = await ok(await call('/v1/api-keys', { method: 'POST', auth: tenant.key, json: { name: 'new owner', userId: user.id } }), 201);
    expect((await ok(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'PUT', auth: tenant.key, json: { role: 'admin' } }))).role.slug).toBe('admin');
    await expectProblem(await call('/v1/users', { auth: tenant.key }), 403, FORBIDDEN);
    expect((await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'DELETE', auth: handover.secret })).status).toBe(204);
    expect((await ok(await call(`/v1/users/${tenant.owner.id}`, { auth: handover.secret }))).role).toBeNull();
    await expectProblem(await call(`/v1/users/${tenant.owner.id}/membership`, { method: 'DELETE', auth: handover.secret }), 404, 'not-found');
    // A former member's key may still read, but not invite.
    await expectProblem(await call('/v1/invitations', { method: 'POST', auth: tenant.key, json: { email: mailbox('late'), role: 'staff' } }), 403, 'inviter-not-allowed');
  });
});

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

describe('the management CLI', () => {
  it('creates a tenant and keys, printing each key once, and revokes keys', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
    const slug = unique('cli');

    expect(await runManagementCommand(['tenant', 'create', '--slug', slug, '--name', 'Via CLI', '--owner-email', `boss@${slug}.example.com`, '--json'], stack.db, io)).toBe(0);
    const made = JSON.parse(lines.pop()!);
    expect(made.tenant.slug).toBe(slug);
    const tenant = await ok(await call('/v1/tenant', { auth: made.apiKey.secret }));
    expect(tenant).toMatchObject({ slug, name: 'Via CLI', defaultRoleSlug: 'member' });

    expect(await runManagementCommand(['api-key', 'create', `--tenant=${slug}`, '--email', `BOSS@${slug}.example.com`, '--name', 'deploy'], stack.db, io)).toBe(0);
    const printed = lines.join('\n');
    const secret = /api key {2}(usher_\S+)/.exec(printed)![1]!;
    const id = /\(id ([0-9a-f-]{36})/.exec(printed)![1]!;
    expect((await ok(await call('/v1/api-keys', { auth: secret }))).data.find((k: any) => k.id === id)).toMatchObject({ name: 'deploy', current: true });

    expect(await runManagementCommand(['api-key', 'revoke', '--id', id], stack.db, io)).toBe(0);
    await expectProblem(await call('/v1/tenant', { auth: secret }), 401, 'unauthorized');

    expect(await runManagementCommand(['tenant', 'list'], stack.db, io)).toBe(0);
    expect(lines.some((l) => l.startsWith(`${slug}\t${made.tenant.id}`))).toBe(true);

    // Refusals: 1 for what the data refuses, 2 for usage.
    expect(await runManagementCommand(['tenant', 'create', '--slug', slug, '--name', 'Again', '--owner-email', 'x@example.com'], stack.db, io)).toBe(1);
    expect(errors.pop()).toMatch(/slug/);
    expect(await runManagementCommand(['api-key', 'create', '--tenant', slug, '--email', 'nobody@example.com'], stack.db, io)).toBe(1);
    expect(await runManagementCommand(['api-key', 'create', '--tenant', 'no-such-tenant', '--email', 'x@example.com'], stack.db, io)).toBe(1);
    expect(await runManagementCommand(['api-key', 'revoke', '--id', 'nope'], stack.db, io)).toBe(1);
    expect(await runManagementCommand(['tenant', 'create', '--slug', unique('cli')], stack.db, io)).toBe(2);
    expect(await runManagementCommand(['tenant', 'create', '--bogus'], stack.db, io)).toBe(2);
    expect(await runManagementCommand(['tenant', 'explode'], stack.db, io)).toBe(2);
    expect(errors.join('\n')).toMatch(/usage:/);
  });
});

describe('the OpenAPI fragment', () => {
  it('documents exactly the routes that answer, each behind its credential', async () => {
    const documented: string[] = [];
    for (const [path, methods] of Object.entries(managementPaths)) {
      for (const [method, operation] of Object.entries(methods)) {
        documented.push(`${method.toUpperCase()} ${path}`);
        const url = path.replace('{id}', '0190a0b2-0000-7000-8000-000000000000');
        // Without a credential every documented route answers 401, never "no route" (404) or 405.
        const response = await call(url, { method: method.toUpperCase(), auth: null, ...(method === 'get' || method === 'delete' ? {} : { json: {} }) });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect((operation as { security: { adminToken?: [] }[] }).security[0]!.adminToken !== undefined).toBe(path.startsWith('/v1/tenants'));
      }
    }
    expect(documented).toHaveLength(23);
    expect(JSON.stringify(managementPaths)).toContain('#/components/schemas/Problem');
  });
});
