import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCredentials } from '../../src/main/dev/seed';
import { canonicalEmail } from '../../src/lib/email-address';
import { seedCompat } from '../support/compat';
import { sentTo } from '../support/mail';
import { expectNothingLeftFor } from '../support/nothing-left';
import { addMember, createTestTenant } from '../support/tenants';
import { expectSentAgain } from './helpers';
import { body, startStack, type Stack } from '../support/stack';

const EMAIL_SENT = 'Successful, Email verification Instructions have been sent to your email';

let stack: Stack;
let royalti: DevCredentials['royalti'];
beforeAll(async () => {
  stack = await startStack();
  royalti = (await seedCompat(stack)).royalti;
});
afterAll(async () => {
  await stack?.stop();
});

/** The path and query of the dev endpoint (`/auth/invite?workspaceId=…`), so a test can add to the query. */
const endpoint = (extraQuery = ''): string => `${royalti.endpoint}${extraQuery}`;

function invite(json: unknown, options: { jwt?: string | null; url?: string } = {}): Promise<Response> {
  const headers = new Headers({ 'content-type': 'application/json' });
  const jwt = options.jwt === undefined ? royalti.jwt : options.jwt;
  if (jwt) headers.set('authorization', `Bearer ${jwt}`);
  return fetch(options.url ?? endpoint(), { method: 'POST', headers, body: JSON.stringify(json) });
}

function signJwt(claims: Record<string, unknown>, options: { key?: string; sub?: string; expiresAt?: number } = {}): Promise<string> {
  return new SignJWT({ workspaceId: royalti.workspaceId, email: stack.tenant.owner.email, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? stack.tenant.owner.id)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? '1h')
    .sign(new TextEncoder().encode(options.key ?? royalti.jwtKey));
}

const invitationsFor = (email: string) =>
  stack.db.selectFrom('invitations').selectAll().where('tenant_id', '=', stack.tenant.id).where('email_canonical', '=', canonicalEmail(email)).orderBy('created_at').execute();
const usersFor = (email: string) =>
  stack.db.selectFrom('users').select('id').where('tenant_id', '=', stack.tenant.id).where('email_canonical', '=', canonicalEmail(email)).execute();


async function expectRoyaltiRefusal(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const refusal = await body(response);
  expect(Object.keys(refusal)).toEqual(['message']);
  expect(refusal.message).toEqual(expect.any(String));
  return refusal.message;
}

/** The workflow provisions the invitee's user record first; wait until the invitation points at it. */
async function inviteeUserOf(invitationId: string): Promise<string> {
  const userOf = async () =>
    (await stack.db.selectFrom('invitations').select('invitee_user_id').where('id', '=', invitationId).executeTakeFirstOrThrow()).invitee_user_id;
  await expect.poll(userOf, { timeout: 10_000, interval: 50, message: `invitation ${invitationId} never got its user record` }).toBeTruthy();
  return (await userOf())!;
}

describe('Royalti POST /auth/invite', () => {
  it("accepts the documentation's curl sample with real values and emails the invitee", async () => {
    // curl --request POST --url …/auth/invite --header 'Authorization: Bearer <token>' --header 'Content-Type: application/json' --data '{…}'
    const response = await fetch(`${stack.baseUrl}/auth/invite`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${royalti.jwt}`, 'Content-Type': 'application/json' },
      body: `{
  "email": "jsmith@example.com",
  "sendEmail": true,
  "message": "Welcome to the catalogue team.",
  "firstName": "John",
  "lastName": "Smith",
  "redirect_url": "https://www.myserviceprovider.com/welcome",
  "role": "admin"
}`,
    });
    expect(response.status).toBe(201);
    expect(await body(response)).toEqual({ message: EMAIL_SENT });

    const [invitation, ...others] = await invitationsFor('jsmith@example.com');
    expect(others).toEqual([]);
    expect(invitation).toMatchObject({
      origin: 'royalti',
      status: 'pending',
      send_email: true,
      inviter_user_id: stack.tenant.owner.id,
      role_id: stack.tenant.roles.admin,
      message: 'Welcome to the catalogue team.',
      first_name: 'John',
      last_name: 'Smith',
      redirect_url: 'https://www.myserviceprovider.com/welcome',
    });
    const email = await stack.mail.waitFor(sentTo('jsmith@example.com'));
    expect(email.text).toContain('Welcome to the catalogue team.');
    expect(email.acceptLink).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));
  });

  it('takes the workspace from the workspaceId query parameter and gives the default role when none is named', async () => {
    const response = await invite({ email: 'query.workspace@example.com' }, { url: endpoint() });
    expect(response.status).toBe(201);
    expect(await body(response)).toEqual({ message: EMAIL_SENT });
    expect(await invitationsFor('query.workspace@example.com')).toEqual([expect.objectContaining({ origin: 'royalti', role_id: stack.tenant.roles.member })]);
    await stack.mail.waitFor(sentTo('query.workspace@example.com'));
  });

  it('with sendEmail false sends nothing and returns a link that accepts the invitation', async () => {
    const response = await invite({ email: 'link.only@example.com', sendEmail: false, role: 'member' });
    expect(response.status).toBe(201);
    const created = await body(response);
    expect(created).toEqual({ message: expect.stringContaining('no email was sent'), acceptUrl: expect.stringMatching(new RegExp(`^${stack.baseUrl}/invite/`)) });

    const accepted = await fetch(created.acceptUrl, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    expect(accepted.status).toBe(303);
    const [invitation] = await invitationsFor('link.only@example.com');
    const final = await stack.client.workflow.getHandle(invitation!.workflow_id).result();
    expect(final.status).toBe('accepted');
    const membership = await stack.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('memberships.role_id')
      .where('memberships.tenant_id', '=', stack.tenant.id)
      .where('users.email_canonical', '=', 'link.only@example.com')
      .execute();
    expect(membership).toEqual([{ role_id: stack.tenant.roles.member }]);
    expect(stack.mail.messages().filter(sentTo('link.only@example.com'))).toEqual([]);
  });

  it('refuses a request without an email with 400 and a message', async () => {
    expect(await expectRoyaltiRefusal(await invite({ sendEmail: true, firstName: 'Nobody' }), 400)).toContain('email');
    expect(await expectRoyaltiRefusal(await invite({ email: 'not-an-address' }), 400)).toContain('email');
    await expectNothingLeftFor(stack, 'not-an-address', { noUser: true });
  });

  it('refuses a missing, malformed, expired or foreign-signed token with 401 and invites nobody', async () => {
    const who = 'token.trouble@example.com';
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: null }), 401);
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: 'not.a.jwt' }), 401);
    expect(await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await signJwt({}, { expiresAt: Math.floor(Date.now() / 1000) - 3600 }) }), 401)).toContain('expired');
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await signJwt({}, { key: 'some-other-workspace-key-of-32-bytes!!' }) }), 401);
    // A token for another workspace, presented with this workspace's id in the query.
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await signJwt({ workspaceId: 'another-workspace' }) }), 401);
    // A valid signature whose subject is not a user of the workspace.
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await signJwt({ email: 'stranger@example.com' }, { sub: '0190aaaa-0000-7000-8000-000000000000' }) }), 401);
    await expectNothingLeftFor(stack, who, { noUser: true });
  });

  it('answers 404 for a workspace that does not exist', async () => {
    const message = await expectRoyaltiRefusal(await invite({ email: 'lost.workspace@example.com' }, { url: `${stack.baseUrl}/auth/invite?workspaceId=no-such-workspace` }), 404);
    expect(message).toContain('no-such-workspace');
    await expectNothingLeftFor(stack, 'lost.workspace@example.com', { noUser: true });
  });

  it('refuses a redirect_url off the allow-list with 400 and leaves nothing behind', async () => {
    const message = await expectRoyaltiRefusal(await invite({ email: 'bad.redirect@example.com', redirect_url: 'https://evil.example.net/steal' }), 400);
    expect(message).toContain('redirect_url');
    await expectNothingLeftFor(stack, 'bad.redirect@example.com', { noUser: true });
  });

  it('refuses an unknown role with 400 and a role above the inviter with 401', async () => {
    expect(await expectRoyaltiRefusal(await invite({ email: 'odd.role@example.com', role: 'emperor' }), 400)).toContain('emperor');
    await expectNothingLeftFor(stack, 'odd.role@example.com', { noUser: true });

    const member = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.member, email: 'plain.member@example.com' });
    const memberJwt = await signJwt({ email: member.email }, { sub: member.id });
    expect(await expectRoyaltiRefusal(await invite({ email: 'too.high@example.com', role: 'admin' }, { jwt: memberJwt }), 401)).toContain('admin');
    await expectNothingLeftFor(stack, 'too.high@example.com', { noUser: true });
    // The same member may invite at their own rank.
    expect((await invite({ email: 'too.high@example.com', role: 'member' }, { jwt: memberJwt })).status).toBe(201);
  });

  it('keeps one user record when the same person is invited twice', async () => {
    const who = 'same.person@example.com';
    const first = await invite({ email: who, sendEmail: false, firstName: 'Sam' });
    expect(first.status).toBe(201);
    const { acceptUrl } = await body(first);
    const [firstInvitation] = await invitationsFor(who);
    const userId = await inviteeUserOf(firstInvitation!.id);

    // While the first invitation is open, inviting again answers 201 with that same invitation's fresh link: no duplicate.
    const again = await invite({ email: who });
    expect(again.status).toBe(201);
    const repeated = await body(again);
    expect(repeated).toEqual({ message: expect.stringContaining('no email was sent'), acceptUrl: expect.stringMatching(new RegExp(`^${stack.baseUrl}/invite/`)) });
    expect(repeated.acceptUrl).not.toBe(acceptUrl);
    expect(await invitationsFor(who)).toHaveLength(1);

    const declined = await fetch(repeated.acceptUrl, { method: 'POST', body: new URLSearchParams({ decision: 'decline' }), redirect: 'manual' });
    expect(declined.status).toBeLessThan(400);
    await stack.client.workflow.getHandle(firstInvitation!.workflow_id).result();

    const second = await invite({ email: 'Same.Person@example.com', firstName: 'Samantha' }, { url: endpoint(`&userId=${userId}`) });
    expect(second.status).toBe(201);
    expect(await body(second)).toEqual({ message: EMAIL_SENT });
    const invitations = await invitationsFor(who);
    expect(invitations).toHaveLength(2);
    expect(await inviteeUserOf(invitations[1]!.id)).toBe(userId);
    expect(await usersFor(who)).toEqual([{ id: userId }]);
    await stack.mail.waitFor(sentTo(who));
  });

  it('answers 404 for a userId that is not in the workspace', async () => {
    const message = await expectRoyaltiRefusal(await invite({ email: 'ghost.user@example.com' }, { url: endpoint('&userId=0190aaaa-0000-7000-8000-000000000001') }), 404);
    expect(message).toContain('User not found');
    await expectNothingLeftFor(stack, 'ghost.user@example.com', { noUser: true });
  });

  it('refuses with 401 while invitations are switched off for the workspace', async () => {
    await stack.db.updateTable('tenants').set({ invitations_enabled: false }).where('id', '=', stack.tenant.id).execute();
    try {
      await expectRoyaltiRefusal(await invite({ email: 'switched.off@example.com' }), 401);
    } finally {
      await stack.db.updateTable('tenants').set({ invitations_enabled: true }).where('id', '=', stack.tenant.id).execute();
    }
    await expectNothingLeftFor(stack, 'switched.off@example.com', { noUser: true });
  });

  it('answers other methods in the same JSON shape, never problem+json', async () => {
    const get = await fetch(endpoint(), { headers: { authorization: `Bearer ${royalti.jwt}` } });
    await expectRoyaltiRefusal(get, 405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('Royalti: calling again, and role names', () => {
  it('inviting someone whose invitation is open answers 201 as the first call did and sends that invitation again', async () => {
    const who = 'existing.invite@example.com';
    expect((await invite({ email: who })).status).toBe(201);
    await stack.mail.waitFor(sentTo(who));
    const again = await invite({ email: who, message: 'In case you lost it' });
    expect(again.status).toBe(201);
    expect(await body(again)).toEqual({ message: EMAIL_SENT });
    await expectSentAgain(stack, who);
  });

  it('matches role names without regard to case, by slug or by display name', async () => {
    for (const [who, role] of [
      ['capital.admin@example.com', 'Admin'],
      ['shouting.member@example.com', 'MEMBER'],
    ] as const) {
      const response = await invite({ email: who, role });
      expect(response.status).toBe(201);
      const [invitation] = await invitationsFor(who);
      expect(invitation!.role_id).toBe(role === 'Admin' ? stack.tenant.roles.admin : stack.tenant.roles.member);
      await stack.mail.waitFor(sentTo(who));
    }
  });
});

describe('Royalti tokens: expiry, lifetime and the kind of key', () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('refuses a token without exp with 401, whatever else is right about it', async () => {
    const who = 'eternal.token@example.com';
    const eternal = await new SignJWT({ workspaceId: royalti.workspaceId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(stack.tenant.owner.id)
      .setIssuedAt()
      .sign(new TextEncoder().encode(royalti.jwtKey));
    expect(await expectRoyaltiRefusal(await invite({ email: who }, { jwt: eternal }), 401)).toContain('exp');
    await expectNothingLeftFor(stack, who, { noUser: true });
  });

  it('refuses a token that lives longer than 24 hours, counted from iat or, without one, from now; 24 hours is fine', async () => {
    const who = 'long.lived@example.com';
    const sign = (iat: number | undefined, exp: number) => {
      const jwt = new SignJWT({ workspaceId: royalti.workspaceId }).setProtectedHeader({ alg: 'HS256' }).setSubject(stack.tenant.owner.id).setExpirationTime(exp);
      if (iat !== undefined) jwt.setIssuedAt(iat);
      return jwt.sign(new TextEncoder().encode(royalti.jwtKey));
    };
    const now = nowSeconds();
    expect(await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await sign(now, now + 25 * 3600) }), 401)).toContain('24 hours');
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await sign(now - 48 * 3600, now + 3600) }), 401);
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await sign(undefined, now + 30 * 24 * 3600) }), 401);
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await sign(now + 10 * 24 * 3600, now + 10 * 24 * 3600 + 60) }), 401);
    await expectNothingLeftFor(stack, who, { noUser: true });
    expect((await invite({ email: who }, { jwt: await sign(now, now + 24 * 3600) })).status).toBe(201);
  });

  it('a workspace with a public key: its kind is set and shown by the tenant settings, RS256 tokens pass, and an HS256 token signed with the key’s text is 401', async () => {
    const other = await createTestTenant(stack.db);
    const workspaceId = `pk-${other.slug}`;
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const settings = (json: unknown) => stack.api('/v1/tenant', { method: 'PATCH', json, key: other.owner.apiKey });

    const patched = await settings({ royaltiWorkspaceId: workspaceId, royaltiJwtKey: pem, royaltiJwtKeyKind: 'public-key' });
    expect(patched.status).toBe(200);
    expect(await body(patched)).toMatchObject({ royaltiWorkspaceId: workspaceId, royaltiJwtKeySet: true, royaltiJwtKeyKind: 'public-key' });
    expect(await body(await stack.api('/v1/tenant', { key: other.owner.apiKey }))).toMatchObject({ royaltiJwtKeyKind: 'public-key' });

    const url = `${stack.baseUrl}/auth/invite?workspaceId=${workspaceId}`;
    const claims = { workspaceId, email: other.owner.email };
    const rs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setSubject(other.owner.id).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    expect((await invite({ email: 'signed.rs256@example.com' }, { jwt: rs256, url })).status).toBe(201);

    const hmacWith = (secret: string) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(other.owner.id).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(secret));
    const who = 'forged.with.public.key@example.com';
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await hmacWith(pem), url }), 401);

    // The same public key stored without its PEM header, as an old row may hold it (the migration called it an HMAC
    // secret): it is never used as one.
    const bare = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    await stack.db.updateTable('tenants').set({ royalti_jwt_key: bare, royalti_jwt_key_kind: 'hmac-secret' }).where('id', '=', other.id).execute();
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await hmacWith(bare), url }), 401);
    await stack.db.updateTable('tenants').set({ royalti_jwt_key_kind: 'public-key' }).where('id', '=', other.id).execute();
    await expectRoyaltiRefusal(await invite({ email: who }, { jwt: await hmacWith(bare), url }), 401);
    await expectNothingLeftFor(stack, who, { noUser: true });
  });

  it('the tenant settings refuse a key whose kind is wrong or cannot be told, and infer it where the text leaves no doubt', async () => {
    const other = await createTestTenant(stack.db);
    const settings = (json: unknown) => stack.api('/v1/tenant', { method: 'PATCH', json, key: other.owner.apiKey });
    const pem = await exportSPKI((await generateKeyPair('ES256')).publicKey);
    const bare = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const refused = async (json: unknown, path: string) => {
      const response = await settings(json);
      expect(response.status).toBe(400);
      expect((await body(response)).errors).toEqual([expect.objectContaining({ path })]);
    };
    await refused({ royaltiJwtKey: bare }, 'royaltiJwtKey');
    await refused({ royaltiJwtKey: bare, royaltiJwtKeyKind: 'hmac-secret' }, 'royaltiJwtKey');
    await refused({ royaltiJwtKey: pem, royaltiJwtKeyKind: 'hmac-secret' }, 'royaltiJwtKeyKind');
    await refused({ royaltiJwtKey: 'a-shared-secret-of-at-least-32-characters', royaltiJwtKeyKind: 'public-key' }, 'royaltiJwtKeyKind');
    await refused({ royaltiJwtKeyKind: 'public-key' }, 'royaltiJwtKeyKind');

    expect(await body(await settings({ royaltiJwtKey: pem }))).toMatchObject({ royaltiJwtKeyKind: 'public-key' });
    expect(await body(await settings({ royaltiJwtKey: 'a-shared-secret-of-at-least-32-characters' }))).toMatchObject({ royaltiJwtKeyKind: 'hmac-secret' });
    expect(await body(await settings({ royaltiJwtKey: null }))).toMatchObject({ royaltiJwtKeySet: false, royaltiJwtKeyKind: null });
  });
});
