import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCredential } from '../../src/db/compat-credentials';
import { upsertUser } from '../../src/db/users';
import type { DevCredentials } from '../../src/main/dev/seed';
import type { CaughtMessage } from '../../src/main/dev/mail-catcher';
import { seedCompat } from '../support/compat';
import { sentTo } from '../support/mail';
import { expectSentAgain } from './helpers';
import { expectNothingLeftFor } from '../support/nothing-left';
import { body, startStack, type Stack } from '../support/stack';
import { createTestTenant } from '../support/tenants';

let stack: Stack;
let sap: DevCredentials['sap'];
beforeAll(async () => {
  stack = await startStack();
  sap = (await seedCompat(stack)).sap;
});
afterAll(async () => {
  await stack?.stop();
});

/** The seed's Example request body, byte for byte (leading space and all). */
const SAMPLE_BODY = ` {
  "inviteeEmail": "john.miller@company.com",
  "inviteeFirstName": "John",
  "inviteeLastName": "Miller",
  "inviterName": "Donna Moore",
  "footerText": "Invitation footer sample text",
  "headerText": "Invitation header sample text",
  "targetUrl": "http://www.myserviceprovider.com/protected_home_page/",
  "sourceUrl": "http://www.myserviceprovider.com/public_home_page/"
 }
`;

let counter = 0;
const fresh = (label: string) => `sap-${label}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** POST /cps/invite/ with the dev client's Basic credentials unless others are given. */
function invite(json: unknown, init: { authorization?: string | null; contentType?: string; raw?: string } = {}): Promise<Response> {
  const headers = new Headers({ 'content-type': init.contentType ?? 'application/json' });
  const authorization = init.authorization === undefined ? basic(sap.clientId, sap.clientSecret) : init.authorization;
  if (authorization) headers.set('authorization', authorization);
  return fetch(`${stack.baseUrl}/cps/invite/`, { method: 'POST', headers, body: init.raw ?? JSON.stringify(json) });
}

/** The link in the email (text part): `Accept invitation: <link>` or its German twin. */
const linkIn = (email: CaughtMessage): URL => {
  const match = /(?:Accept invitation|Einladung annehmen): (\S+)/.exec(email.text);
  expect(match, email.text).not.toBeNull();
  return new URL(match![1]!);
};

const accept = async (token: string) => {
  const response = await fetch(`${stack.baseUrl}/v1/invitations/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(response.status).toBe(200);
  return body(response);
};

const invitationsFor = (email: string) =>
  stack.db.selectFrom('invitations').selectAll().where('email_canonical', '=', email.toLowerCase()).execute();

/** An error in SAP's shape (JSON status/code/message), not problem+json; returns the body. */
async function expectSapError(response: Response, status: number, code: string): Promise<any> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const error = JSON.parse(text);
  expect(error).toMatchObject({ status, code, message: expect.any(String), requestId: response.headers.get('x-request-id') });
  return error;
}


describe('SAP Cloud Identity POST /cps/invite/', () => {
  it('the documented sample request invites John Miller: Donna Moore’s email with header and footer, a link to the public page, and accepting lands on the protected page', async () => {
    const response = await fetch(`${stack.baseUrl}/cps/invite/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basic(sap.clientId, sap.clientSecret) },
      body: SAMPLE_BODY,
    });
    expect(response.status).toBe(201);
    const created = await body(response);
    expect(created).toMatchObject({ id: expect.any(String), status: 'pending' });
    expect(response.headers.get('location')).toBe(`/v1/invitations/${created.id}`);

    const listed = await body(await stack.api('/v1/invitations?email=john.miller@company.com'));
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]).toMatchObject({
      id: created.id,
      email: 'john.miller@company.com',
      origin: 'sap',
      status: 'pending',
      firstName: 'John',
      lastName: 'Miller',
      redirectUrl: 'http://www.myserviceprovider.com/protected_home_page/',
      role: { slug: 'member' },
    });

    const email = await stack.mail.waitFor(sentTo('john.miller@company.com'));
    expect(email.subject).toBe(`Donna Moore invited you to Tenant ${stack.tenant.slug}`);
    for (const part of [email.html, email.text]) {
      expect(part).toContain('Invitation header sample text');
      expect(part).toContain('Invitation footer sample text');
      expect(part).toContain('Donna Moore invited you');
    }
    expect(email.text).toContain('Hello John Miller,');
    const link = linkIn(email);
    expect(`${link.origin}${link.pathname}`).toBe('http://www.myserviceprovider.com/public_home_page/');
    expect(email.html).toContain(link.toString().replace(/&/g, '&amp;'));
    const token = link.searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const accepted = await accept(token);
    expect(accepted).toEqual({ invitationId: created.id, status: 'accepted', redirectUrl: 'http://www.myserviceprovider.com/protected_home_page/' });
    const member = await stack.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .innerJoin('roles', 'roles.id', 'memberships.role_id')
      .select(['roles.slug', 'users.first_name', 'users.last_name'])
      .where('memberships.tenant_id', '=', stack.tenant.id)
      .where('users.email_canonical', '=', 'john.miller@company.com')
      .executeTakeFirst();
    expect(member).toEqual({ slug: 'member', first_name: 'John', last_name: 'Miller' });
  });

  it('inviting John Miller again, now a member, is refused with 409 in SAP’s error shape', async () => {
    const before = (await invitationsFor('john.miller@company.com')).length;
    const response = await invite(null, { raw: SAMPLE_BODY });
    await expectSapError(response, 409, 'already-member');
    expect((await invitationsFor('john.miller@company.com')).length).toBe(before);
  });

  it('without targetUrl and sourceUrl, the email links to the application’s Home URL and accepting lands there', async () => {
    const email = fresh('home');
    const response = await invite({ inviteeEmail: email, inviterName: 'Donna Moore' });
    expect(response.status).toBe(201);
    const message = await stack.mail.waitFor(sentTo(email));
    const link = linkIn(message);
    expect(`${link.origin}${link.pathname}`).toBe('https://app.example.com/home');
    const accepted = await accept(link.searchParams.get('token')!);
    expect(accepted.redirectUrl).toBe('https://app.example.com/home');
  });

  it('inviting someone with an open invitation again answers 201 with that invitation’s id and sends it again with a fresh link', async () => {
    const email = fresh('twice');
    const first = await invite({ inviteeEmail: email, inviterName: 'Donna Moore' });
    expect(first.status).toBe(201);
    const { id } = await body(first);
    await stack.mail.waitFor(sentTo(email));
    const again = await invite({ inviteeEmail: email, inviterName: 'Donna Moore' });
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(`/v1/invitations/${id}`);
    expect(await body(again)).toEqual({ id, status: 'pending' });
    await expectSentAgain(stack, email);
  });

  it('naming the invitee both by inviteeEmail and by inviteeUserId is refused with 400 and leaves nothing behind', async () => {
    const email = fresh('both');
    const error = await expectSapError(await invite({ inviteeEmail: email, inviteeUserId: 'P000001', inviterName: 'Donna Moore' }), 400, 'invalid-request');
    expect(error.message).toContain('not both');
    await expectNothingLeftFor(stack, email);
  });

  it('naming no invitee at all is refused with 400', async () => {
    const error = await expectSapError(await invite({ inviterName: 'Donna Moore', targetUrl: 'https://app.example.com/x' }), 400, 'invalid-request');
    expect(error.message).toBe('inviteeEmail or inviteeUserId is required');
  });

  it('a request without inviterName, with a malformed address, or with a non-URL targetUrl is refused with 400 naming the field', async () => {
    const email = fresh('fields');
    expect((await expectSapError(await invite({ inviteeEmail: email }), 400, 'invalid-request')).field).toBe('inviterName');
    expect((await expectSapError(await invite({ inviteeEmail: 'not-an-address', inviterName: 'D' }), 400, 'invalid-request')).field).toBe('inviteeEmail');
    expect((await expectSapError(await invite({ inviteeEmail: email, inviterName: 'D', targetUrl: 'javascript:alert(1)' }), 400, 'invalid-request')).field).toBe(
      'targetUrl',
    );
    expect((await expectSapError(await invite({ inviteeEmail: email, inviterName: 42 }), 400, 'invalid-request')).field).toBe('inviterName');
    await expectNothingLeftFor(stack, email);
  });

  it('a targetUrl or sourceUrl on a host the tenant does not allow is refused with 400 naming SAP’s field', async () => {
    const email = fresh('host');
    const target = await expectSapError(await invite({ inviteeEmail: email, inviterName: 'D', targetUrl: 'https://evil.example.net/' }), 400, 'redirect-not-allowed');
    expect(target).toMatchObject({ field: 'targetUrl', message: expect.stringContaining('targetUrl') });
    const source = await expectSapError(await invite({ inviteeEmail: email, inviterName: 'D', sourceUrl: 'https://evil.example.net/' }), 400, 'redirect-not-allowed');
    expect(source).toMatchObject({ field: 'sourceUrl', message: expect.stringContaining('sourceUrl') });
    await expectNothingLeftFor(stack, email);
  });

  it('language de sends the email in German; fr-FR and unknown codes fall back to English instead of failing', async () => {
    const german = fresh('de');
    const french = fresh('fr');
    const klingon = fresh('tlh');
    expect((await invite({ inviteeEmail: german, inviterName: 'Donna Moore', language: 'de' })).status).toBe(201);
    expect((await invite({ inviteeEmail: french, inviterName: 'Donna Moore', language: 'fr-FR' })).status).toBe(201);
    expect((await invite({ inviteeEmail: klingon, inviterName: 'Donna Moore', language: 'Klingon (tlhIngan Hol)' })).status).toBe(201);

    const de = await stack.mail.waitFor(sentTo(german));
    expect(de.subject).toBe(`Donna Moore hat Sie zu Tenant ${stack.tenant.slug} eingeladen`);
    expect(de.text).toContain('Einladung annehmen');
    for (const address of [french, klingon]) {
      const en = await stack.mail.waitFor(sentTo(address));
      expect(en.subject).toBe(`Donna Moore invited you to Tenant ${stack.tenant.slug}`);
      expect(en.text).toContain('Accept invitation');
    }
  });

  it('DE, de-DE and de_DE select German as well', async () => {
    for (const language of ['DE', 'de-DE', 'de_DE']) {
      const address = fresh(language);
      expect((await invite({ inviteeEmail: address, inviterName: 'Donna Moore', language })).status).toBe(201);
      expect((await stack.mail.waitFor(sentTo(address))).subject).toContain('hat Sie zu');
    }
  });

  it('wrong, missing or non-Basic credentials are refused with 401 and a Basic challenge, and nothing is created', async () => {
    const email = fresh('auth');
    const request = { inviteeEmail: email, inviterName: 'Donna Moore' };
    for (const authorization of [
      basic(sap.clientId, 'wrong-secret'),
      basic('someone-else', sap.clientSecret),
      basic(sap.clientId, ''),
      null,
      `Bearer ${stack.tenant.owner.apiKey}`,
      'Basic !!!',
    ]) {
      const response = await invite(request, { authorization });
      await expectSapError(response, 401, 'unauthorized');
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    await expectNothingLeftFor(stack, email);
  });

  it('inviteeUserId names a provisioned user by SAP user ID or by Usher user id; their address and name are used', async () => {
    const provisioned = await upsertUser(stack.db, { tenantId: stack.tenant.id, email: fresh('p-user'), firstName: 'Petra', lastName: 'Provisioned' });
    await stack.db.updateTable('users').set({ external_id: 'P000123' }).where('id', '=', provisioned.id).execute();
    const byExternal = await invite({ inviteeUserId: 'P000123', inviterName: 'Donna Moore' });
    expect(byExternal.status).toBe(201);
    const message = await stack.mail.waitFor(sentTo(provisioned.email));
    expect(message.text).toContain('Hello Petra Provisioned,');
    const [row] = await invitationsFor(provisioned.email);
    expect(row).toMatchObject({ origin: 'sap', first_name: 'Petra', last_name: 'Provisioned' });

    const other = await upsertUser(stack.db, { tenantId: stack.tenant.id, email: fresh('u-user') });
    expect((await invite({ inviteeUserId: other.id, inviterName: 'Donna Moore', inviteeFirstName: 'Uma' })).status).toBe(201);
    expect((await stack.mail.waitFor(sentTo(other.email))).text).toContain('Hello Uma,');
  });

  it('an inviteeUserId nobody has is refused with 404', async () => {
    const error = await expectSapError(await invite({ inviteeUserId: 'P999999', inviterName: 'Donna Moore' }), 404, 'not-found');
    expect(error.field).toBe('inviteeUserId');
  });

  it('a body that is not JSON is refused: 415 for another media type, 400 for broken or empty JSON', async () => {
    const email = fresh('media');
    await expectSapError(await invite(null, { contentType: 'application/x-www-form-urlencoded', raw: `inviteeEmail=${email}&inviterName=D` }), 415, 'unsupported-media-type');
    await expectSapError(await invite(null, { raw: '{"inviteeEmail": ' }), 400, 'malformed-json');
    await expectSapError(await invite(null, { raw: '' }), 400, 'invalid-request');
    await expectSapError(await invite(null, { raw: '["x"]' }), 400, 'invalid-request');
    await expectNothingLeftFor(stack, email);
  });

  it('the path works without its trailing slash, and other methods get 405 in SAP’s shape', async () => {
    const email = fresh('noslash');
    const response = await fetch(`${stack.baseUrl}/cps/invite`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(sap.clientId, sap.clientSecret) },
      body: JSON.stringify({ inviteeEmail: email, inviterName: 'Donna Moore' }),
    });
    expect(response.status).toBe(201);
    const get = await fetch(`${stack.baseUrl}/cps/invite/`, { headers: { authorization: basic(sap.clientId, sap.clientSecret) } });
    await expectSapError(get, 405, 'method-not-allowed');
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('SAP Cloud Identity POST /cps/invite/ for an application without a Home URL', () => {
  const client = { id: 'nohome-sap-client', secret: randomBytes(18).toString('base64url') };
  beforeAll(async () => {
    const tenant = await createTestTenant(stack.db, { allowedRedirectHosts: ['www.myserviceprovider.com'] });
    await stack.db.updateTable('tenants').set({ home_url: null }).where('id', '=', tenant.id).execute();
    await addCredential(stack.db, { tenantId: tenant.id, userId: tenant.owner.id, kind: 'sap-client', identifier: client.id, secret: client.secret });
  });
  const auth = () => basic(client.id, client.secret);

  it('is refused with 400 when targetUrl is missing, and when sourceUrl is missing', async () => {
    const email = fresh('nohome');
    const noTarget = await expectSapError(
      await invite({ inviteeEmail: email, inviterName: 'D', sourceUrl: 'http://www.myserviceprovider.com/public_home_page/' }, { authorization: auth() }),
      400,
      'invalid-request',
    );
    expect(noTarget).toMatchObject({ field: 'targetUrl', message: 'targetUrl is required: the application has no Home URL' });
    const noSource = await expectSapError(
      await invite({ inviteeEmail: email, inviterName: 'D', targetUrl: 'http://www.myserviceprovider.com/protected_home_page/' }, { authorization: auth() }),
      400,
      'invalid-request',
    );
    expect(noSource.field).toBe('sourceUrl');
    await expectSapError(await invite({ inviteeEmail: email, inviterName: 'D' }, { authorization: auth() }), 400, 'invalid-request');
    await expectNothingLeftFor(stack, email);
  });

  it('works when the request brings both URLs', async () => {
    const email = fresh('nohome-ok');
    const response = await invite(
      {
        inviteeEmail: email,
        inviterName: 'Donna Moore',
        targetUrl: 'http://www.myserviceprovider.com/protected_home_page/',
        sourceUrl: 'http://www.myserviceprovider.com/public_home_page/',
      },
      { authorization: auth() },
    );
    expect(response.status).toBe(201);
    const link = linkIn(await stack.mail.waitFor(sentTo(email)));
    expect(link.pathname).toBe('/public_home_page/');
    expect((await accept(link.searchParams.get('token')!)).redirectUrl).toBe('http://www.myserviceprovider.com/protected_home_page/');
  });
});
