import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../../src/db/users';
import type { DevCredentials } from '../../src/main/dev/seed';
import { seedCompat } from '../support/compat';
import { sentTo } from '../support/mail';
import { expectNothingLeftFor } from '../support/nothing-left';
import { body, startStack, type Stack } from '../support/stack';
import { addMember } from '../support/tenants';
import { expectSentAgain, expectSentOnce } from './helpers';

let stack: Stack;
let mendix: DevCredentials['mendix'];
beforeAll(async () => {
  stack = await startStack();
  mendix = (await seedCompat(stack)).mendix;
});
afterAll(async () => {
  await stack?.stop();
});

let counter = 0;
const fresh = (label: string) => `mx-${label}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

/** SendInvite with the environment's credentials and inviter unless overridden. */
const params = (overrides: Record<string, string | undefined> = {}) => ({
  EnvironmentUUID: mendix.EnvironmentUUID,
  EnvironmentPassword: mendix.EnvironmentPassword,
  InviteeEmailAddress: fresh('invitee'),
  InviterEmailAddress: mendix.InviterEmailAddress,
  RoleUUID: mendix.roles.member!,
  ...overrides,
});

const sendInvite = (json: unknown, init: { contentType?: string; raw?: string; method?: string } = {}) =>
  fetch(new URL('/api/1/invite', stack.baseUrl), {
    method: init.method ?? 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json' },
    body: init.method === 'GET' ? undefined : (init.raw ?? JSON.stringify(json)),
  });

const invitationsFor = (email: string) =>
  stack.db.selectFrom('invitations').selectAll().where('email_canonical', '=', email.toLowerCase()).execute();

const roleOf = (email: string) =>
  stack.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .innerJoin('roles', 'roles.id', 'memberships.role_id')
    .select(['roles.id', 'roles.slug'])
    .where('memberships.tenant_id', '=', stack.tenant.id)
    .where('users.email_canonical', '=', email.toLowerCase())
    .executeTakeFirst();

/** Follows the link in the email the way the invitee would, and accepts. */
async function acceptFromEmail(address: string) {
  const email = await stack.mail.waitFor(sentTo(address));
  expect(email.acceptLink).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));
  const token = new URL(email.acceptLink!).pathname.split('/').pop()!;
  const accepted = await fetch(`${stack.baseUrl}/v1/invitations/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(accepted.status).toBe(200);
  return email;
}

/** A refusal as `{code, message, requestId}` JSON, not problem+json; returns the body. */
async function expectMendixError(response: Response, status: number, code: string): Promise<any> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const error = JSON.parse(text);
  expect(error).toMatchObject({ code, message: expect.any(String), requestId: response.headers.get('x-request-id') });
  return error;
}


describe('Mendix SendInvite at POST /api/1/invite', () => {
  it('with the environment’s credentials answers 204 with no body; the invitee is emailed in the inviter’s name and, after accepting, has the role RoleUUID names', async () => {
    const request = params({ RoleUUID: mendix.roles.admin! });
    const response = await sendInvite(request);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    const [row] = await invitationsFor(request.InviteeEmailAddress!);
    expect(row).toMatchObject({ origin: 'mendix', role_id: mendix.roles.admin, status: 'pending', inviter_user_id: stack.tenant.owner.id });
    const listed = await body(await stack.api(`/v1/invitations?email=${encodeURIComponent(request.InviteeEmailAddress!)}`));
    expect(listed.data).toMatchObject([{ origin: 'mendix', role: { slug: 'admin' }, inviter: { email: mendix.InviterEmailAddress } }]);

    const email = await acceptFromEmail(request.InviteeEmailAddress!);
    expect(email.subject).toBe(`Test User invited you to Tenant ${stack.tenant.slug}`);
    expect(email.text).toContain('as Admin');
    expect(await roleOf(request.InviteeEmailAddress!)).toEqual({ id: mendix.roles.admin, slug: 'admin' });
  });

  it('also accepts the parameters form-encoded', async () => {
    const request = params();
    const response = await sendInvite(null, {
      contentType: 'application/x-www-form-urlencoded',
      raw: new URLSearchParams(request as Record<string, string>).toString(),
    });
    expect(response.status).toBe(204);
    await acceptFromEmail(request.InviteeEmailAddress!);
    expect(await roleOf(request.InviteeEmailAddress!)).toEqual({ id: mendix.roles.member, slug: 'member' });
  });

  it('a wrong EnvironmentPassword, an unknown EnvironmentUUID or missing credentials are refused with 401 and nothing is sent', async () => {
    const invitee = fresh('auth');
    for (const overrides of [
      { EnvironmentPassword: 'not-the-password' },
      { EnvironmentUUID: randomUUID() },
      { EnvironmentPassword: undefined },
      { EnvironmentUUID: '', EnvironmentPassword: '' },
    ]) {
      await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, ...overrides })), 401, 'unauthorized');
    }
    await expectNothingLeftFor(stack, invitee);
  });

  it('an inviter who has no access to the app is refused with 403, whether unknown or only provisioned', async () => {
    const invitee = fresh('stranger');
    const unknown = await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, InviterEmailAddress: 'nobody@example.org' })), 403, 'inviter-not-allowed');
    expect(unknown.field).toBe('InviterEmailAddress');
    const provisioned = await upsertUser(stack.db, { tenantId: stack.tenant.id, email: fresh('provisioned') });
    await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, InviterEmailAddress: provisioned.email })), 403, 'inviter-not-allowed');
    await expectNothingLeftFor(stack, invitee);
  });

  it('a RoleUUID that is not a role of this app is refused with 400 naming RoleUUID', async () => {
    const invitee = fresh('role');
    const unknown = await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, RoleUUID: randomUUID() })), 400, 'invalid-request');
    expect(unknown).toMatchObject({ field: 'RoleUUID', message: 'RoleUUID is not a user role of this app' });
    const malformed = await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, RoleUUID: 'Administrator' })), 400, 'invalid-request');
    expect(malformed.field).toBe('RoleUUID');
    await expectNothingLeftFor(stack, invitee);
  });

  it('an inviter may not hand out a role above their own: 403', async () => {
    const admin = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.admin, email: fresh('admin') });
    const invitee = fresh('too-high');
    await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, InviterEmailAddress: admin.email, RoleUUID: mendix.roles.owner! })), 403, 'role-too-high');
    await expectNothingLeftFor(stack, invitee);
    // The same inviter may grant their own role.
    expect((await sendInvite(params({ InviterEmailAddress: admin.email, RoleUUID: mendix.roles.admin! }))).status).toBe(204);
  });

  it('inviting someone who is already a member is refused with 409', async () => {
    await expectMendixError(await sendInvite(params({ InviteeEmailAddress: mendix.InviterEmailAddress })), 409, 'already-member');
  });

  it('inviting someone whose invitation is still open answers 204 again and sends that same invitation again, with a fresh link', async () => {
    const request = params();
    expect((await sendInvite(request)).status).toBe(204);
    await stack.mail.waitFor(sentTo(request.InviteeEmailAddress!));
    const again = await sendInvite(request);
    expect(again.status).toBe(204);
    expect(await again.text()).toBe('');
    await expectSentAgain(stack, request.InviteeEmailAddress!);
  });

  it('calling again does not let an inviter resend an open invitation to a role above their own: 403, and nothing is sent', async () => {
    const admin = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.admin, email: fresh('admin-again') });
    const invitee = fresh('owner-to-be');
    expect((await sendInvite(params({ InviteeEmailAddress: invitee, RoleUUID: mendix.roles.owner! }))).status).toBe(204);
    await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, InviterEmailAddress: admin.email, RoleUUID: mendix.roles.member! })), 403, 'role-too-high');
    await expectSentOnce(stack, invitee);
  });

  it('missing or malformed parameters are refused with 400 naming the parameter', async () => {
    const invitee = fresh('params');
    expect((await expectMendixError(await sendInvite(params({ InviteeEmailAddress: undefined })), 400, 'invalid-request')).field).toBe('InviteeEmailAddress');
    expect((await expectMendixError(await sendInvite(params({ InviteeEmailAddress: 'not an address' })), 400, 'invalid-request')).field).toBe('InviteeEmailAddress');
    expect((await expectMendixError(await sendInvite(params({ InviteeEmailAddress: invitee, RoleUUID: undefined })), 400, 'invalid-request')).message).toBe(
      'RoleUUID is required',
    );
    await expectNothingLeftFor(stack, invitee);
  });

  it('a body in another media type is 415, broken JSON 400, and other methods 405, all in the same error shape', async () => {
    await expectMendixError(await sendInvite(null, { contentType: 'text/xml', raw: '<SendInvite/>' }), 415, 'unsupported-media-type');
    await expectMendixError(await sendInvite(null, { raw: '{"EnvironmentUUID":' }), 400, 'malformed-json');
    await expectMendixError(await sendInvite(null, { raw: '[1,2]' }), 400, 'invalid-request');
    const get = await sendInvite(null, { method: 'GET' });
    await expectMendixError(get, 405, 'method-not-allowed');
    expect(get.headers.get('allow')).toBe('POST');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// SOAP: SendInvite as the web service Mendix apps consumed

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

function envelope(version: '1.1' | '1.2', parameters: Record<string, string | undefined>, namespace = 'urn:usher:mendix:InviteAPI:1'): string {
  const fields = Object.entries(parameters)
    .filter(([, v]) => v !== undefined)
    .map(([name, value]) => `<m:${name}>${value}</m:${name}>`)
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${version === '1.1' ? SOAP11 : SOAP12}"><s:Header/><s:Body><m:SendInvite xmlns:m="${namespace}">${fields}</m:SendInvite></s:Body></s:Envelope>`;
}

const soap = (body: string, version: '1.1' | '1.2' = '1.1') =>
  fetch(new URL('/ws/InviteAPI/1', stack.baseUrl), {
    method: 'POST',
    headers: version === '1.1' ? { 'content-type': 'text/xml; charset=utf-8', SOAPAction: '"urn:usher:mendix:InviteAPI:1#SendInvite"' } : { 'content-type': 'application/soap+xml; charset=utf-8' },
    body,
  });

/** A SOAP fault with the refusal's code in its detail; returns the fault's text. */
async function expectFault(response: Response, version: '1.1' | '1.2', httpStatus: number, faultCode: string, code: string): Promise<string> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status: httpStatus });
  expect(response.headers.get('content-type')).toMatch(version === '1.1' ? /^text\/xml/ : /^application\/soap\+xml/);
  if (version === '1.1') expect(text).toContain(`<faultcode>soap:${faultCode}</faultcode>`);
  else expect(text).toContain(`<soap:Value>soap:${faultCode}</soap:Value>`);
  expect(text).toContain(`<tns:code>${code}</tns:code>`);
  expect(text).toContain(`<tns:requestId>${response.headers.get('x-request-id')}</tns:requestId>`);
  return text;
}

describe('Mendix SendInvite as a SOAP operation at POST /ws/InviteAPI/1', () => {
  it('serves its WSDL at /ws/InviteAPI/1?wsdl, with SOAP 1.1 and 1.2 bindings addressed at this server', async () => {
    const response = await fetch(new URL('/ws/InviteAPI/1?wsdl', stack.baseUrl));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    const wsdl = await response.text();
    expect(wsdl).toContain('<wsdl:operation name="SendInvite">');
    expect(wsdl).toContain(`<soap:address location="${stack.baseUrl}/ws/InviteAPI/1"/>`);
    expect(wsdl).toContain(`<soap12:address location="${stack.baseUrl}/ws/InviteAPI/1"/>`);
    for (const name of ['EnvironmentUUID', 'EnvironmentPassword', 'InviteeEmailAddress', 'InviterEmailAddress', 'RoleUUID']) expect(wsdl).toContain(`name="${name}"`);
  });

  it('SOAP 1.1 and SOAP 1.2 requests invite as the JSON call does and answer an empty SendInviteResponse', async () => {
    for (const version of ['1.1', '1.2'] as const) {
      const request = params({ RoleUUID: mendix.roles.admin! });
      const response = await soap(envelope(version, request), version);
      const text = await response.text();
      expect({ status: response.status, text }).toMatchObject({ status: 200 });
      expect(text).toMatch(/<soap:Body><tns:SendInviteResponse xmlns:tns="urn:usher:mendix:InviteAPI:1"\/><\/soap:Body>/);
      const [row] = await invitationsFor(request.InviteeEmailAddress!);
      expect(row).toMatchObject({ origin: 'mendix', role_id: mendix.roles.admin, inviter_user_id: stack.tenant.owner.id });
      await expectSentOnce(stack, request.InviteeEmailAddress!);
    }
  });

  it('answers a request built from another namespace (the original WSDL’s) by its element names', async () => {
    const request = params();
    const response = await soap(envelope('1.1', request, 'http://www.example.com/InviteAPI'));
    expect(response.status).toBe(200);
    await expectSentOnce(stack, request.InviteeEmailAddress!);
  });

  it('calling again for an open invitation succeeds and sends it again', async () => {
    const request = params();
    expect((await soap(envelope('1.1', request))).status).toBe(200);
    await stack.mail.waitFor(sentTo(request.InviteeEmailAddress!));
    expect((await soap(envelope('1.1', request))).status).toBe(200);
    await expectSentAgain(stack, request.InviteeEmailAddress!);
  });

  it('refusals are SOAP faults carrying the same code: Client/Sender for the caller’s, with the HTTP status of each SOAP version', async () => {
    const invitee = fresh('soap-refused');
    await expectFault(await soap(envelope('1.1', params({ InviteeEmailAddress: invitee, EnvironmentPassword: 'wrong' }))), '1.1', 500, 'Client', 'unauthorized');
    await expectFault(await soap(envelope('1.2', params({ InviteeEmailAddress: invitee, EnvironmentPassword: 'wrong' })), '1.2'), '1.2', 400, 'Sender', 'unauthorized');
    const role = await expectFault(await soap(envelope('1.1', params({ InviteeEmailAddress: invitee, RoleUUID: randomUUID() }))), '1.1', 500, 'Client', 'invalid-request');
    expect(role).toContain('<tns:field>RoleUUID</tns:field>');
    await expectFault(await soap(envelope('1.1', params({ InviteeEmailAddress: mendix.InviterEmailAddress }))), '1.1', 500, 'Client', 'already-member');
    await expectFault(await soap(envelope('1.1', params({ InviteeEmailAddress: invitee, RoleUUID: undefined }))), '1.1', 500, 'Client', 'invalid-request');
    await expectNothingLeftFor(stack, invitee);
  });

  it('a malformed envelope, another SOAP version’s envelope, an unknown operation or a mustUnderstand header are faults too', async () => {
    await expectFault(await soap('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'), '1.1', 500, 'Client', 'invalid-request');
    await expectFault(await soap(envelope('1.2', params())), '1.1', 500, 'VersionMismatch', 'invalid-request');
    await expectFault(await soap(envelope('1.1', params()).replace(/SendInvite/g, 'DeleteUser')), '1.1', 500, 'Client', 'invalid-request');
    const mustUnderstand = envelope('1.1', params()).replace('<s:Header/>', '<s:Header><x:Security xmlns:x="urn:x" s:mustUnderstand="1"/></s:Header>');
    await expectFault(await soap(mustUnderstand), '1.1', 500, 'MustUnderstand', 'invalid-request');
    await expectFault(await soap('<!DOCTYPE x [<!ENTITY a "a">]><x/>'), '1.1', 500, 'Client', 'invalid-request');
    const get = await fetch(new URL('/ws/InviteAPI/1', stack.baseUrl));
    await expectFault(get, '1.1', 500, 'Client', 'method-not-allowed');
  });
});
