import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../../src/db/users';
import type { DevCredentials } from '../../src/main/dev/seed';
import { seedCompat } from '../support/compat';
import { sentTo } from '../support/mail';
import { expectNothingLeftFor } from '../support/nothing-left';
import { startStack, type Stack } from '../support/stack';
import { expectSentAgain, invitationsOf, pinnedVersions, runClient } from './helpers';

/**
 * The seed APIs against the client libraries and requests an existing integration would use: the published Python
 * clients, unpatched, from the tools venv (versions pinned in script/python-tools.txt), and for the seeds without a
 * published client, requests written from the vendor documents. Each scenario runs once and then again for the same
 * invitee, which must succeed too and send the same invitation again.
 */
let stack: Stack;
let credentials: DevCredentials;
beforeAll(async () => {
  stack = await startStack();
  credentials = await seedCompat(stack);
});
afterAll(async () => {
  await stack?.stop();
});

let counter = 0;
const fresh = (label: string) => `client-${label}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

/** Every library the script reports ran at the version script/python-tools.txt pins. */
function expectPinned(result: { versions: Record<string, string> }): void {
  for (const [name, version] of Object.entries(result.versions)) expect({ name, version }).toEqual({ name, version: pinnedVersions[name.toLowerCase()] });
}

async function run(script: string, input: Record<string, unknown>): Promise<any> {
  const result = await runClient(script, { base_url: stack.baseUrl, ...input });
  expectPinned(result);
  return result;
}

describe('Quickbase: pyqb, syncqb, pyintuition and quickbase-api against /db/<dbid>', () => {
  const qb = () => credentials.quickbase;
  /** A user provisioned as API_ProvisionUser would leave one: known by a Quickbase userid, not yet a member. */
  async function provision(label: string): Promise<{ userid: string; email: string }> {
    const email = fresh(label);
    const user = await upsertUser(stack.db, { tenantId: stack.tenant.id, email });
    const userid = `${300000 + counter}.${randomBytes(2).toString('hex')}`;
    await stack.db.updateTable('users').set({ external_id: userid }).where('id', '=', user.id).execute();
    return { userid, email };
  }
  const input = (userid: string) => ({ dbid: qb().dbid, username: qb().username, password: qb().password, usertoken: qb().usertoken, apptoken: qb().apptoken, userid });

  for (const scenario of ['pyqb-password-then-ticket', 'pyqb-user-token', 'syncqb-password-then-ticket', 'pyintuition-password-then-ticket', 'quickbase-api-user-token']) {
    it(`${scenario}: API_SendInvitation answers errcode 0, and again for the same user, who is sent the same invitation again`, async () => {
      const user = await provision(scenario);
      const first = await run('quickbase.py', { scenario, ...input(user.userid) });
      expect(first).toMatchObject({ errcode: '0' });
      expect(first.raised).toBeUndefined();
      if (scenario.includes('ticket')) expect(first.ticket).toBe(true);
      if (scenario === 'quickbase-api-user-token') expect(first.legacy_url).toBe(`https://${new URL(stack.baseUrl).host}/db/${qb().dbid}`);
      await stack.mail.waitFor(sentTo(user.email));

      const again = await run('quickbase.py', { scenario, ...input(user.userid) });
      expect(again).toMatchObject({ errcode: '0' });
      await expectSentAgain(stack, user.email);
    });
  }

  it('a wrong password surfaces as pyqb’s own error (errcode 20), and nobody is invited', async () => {
    const user = await provision('wrong-password');
    const result = await run('quickbase.py', { scenario: 'pyqb-password-then-ticket', ...input(user.userid), password: 'not-the-password' });
    expect(result).toMatchObject({ raised: 'ResponseError', message: expect.stringContaining('20') });
    await expectNothingLeftFor(stack, user.email);
  });
});

describe('Mendix: zeep against the WSDL at /ws/InviteAPI/1?wsdl', () => {
  const params = (invitee: string, overrides: Record<string, string> = {}) => ({
    EnvironmentUUID: credentials.mendix.EnvironmentUUID,
    EnvironmentPassword: credentials.mendix.EnvironmentPassword,
    InviteeEmailAddress: invitee,
    InviterEmailAddress: credentials.mendix.InviterEmailAddress,
    RoleUUID: credentials.mendix.roles.member!,
    ...overrides,
  });

  for (const soap of ['1.1', '1.2']) {
    it(`SOAP ${soap}: SendInvite returns nothing, and calling again sends the same invitation again`, async () => {
      const invitee = fresh(`zeep-${soap}`);
      const first = await run('mendix.py', { scenario: 'send-invite', soap, params: params(invitee) });
      expect(first).toEqual({ versions: expect.any(Object), returned: null });
      await stack.mail.waitFor(sentTo(invitee));
      expect(await run('mendix.py', { scenario: 'send-invite', soap, params: params(invitee) })).toMatchObject({ returned: null });
      await expectSentAgain(stack, invitee);
    });
  }

  it('a refusal reaches zeep as a Fault whose detail carries the code, message and request id', async () => {
    const invitee = fresh('zeep-refused');
    const result = await run('mendix.py', { scenario: 'send-invite', params: params(invitee, { EnvironmentPassword: 'not-the-password' }) });
    expect(result.fault).toMatchObject({ code: expect.stringMatching(/Client$/), detail: { code: 'unauthorized', message: expect.any(String), requestId: expect.any(String) } });
    await expectNothingLeftFor(stack, invitee, { noUser: true });
  });
});

describe('SAP, Akana and Royalti: requests written from the vendor documents', () => {
  it('SAP: the documented example with HTTP Basic answers 201, and again 201 with the same id', async () => {
    const email = fresh('sap');
    const input = { scenario: 'sap-invite', client_id: credentials.sap.clientId, client_secret: credentials.sap.clientSecret, email };
    const first = await run('http_seeds.py', input);
    expect(first).toMatchObject({ status: 201, body: { id: expect.any(String), status: 'pending' } });
    expect(first.location).toBe(`/v1/invitations/${first.body.id}`);
    await stack.mail.waitFor(sentTo(email));
    expect(await run('http_seeds.py', input)).toMatchObject({ status: 201, body: { id: first.body.id } });
    await expectSentAgain(stack, email);
  });

  it('Akana: log in with a cookie jar, echo the CSRF cookie in its header, invite; the same request again answers the same', async () => {
    const email = fresh('akana');
    const input = { scenario: 'akana-login-and-invite', login_email: credentials.akana.email, password: credentials.akana.password, emails: [email] };
    const first = await run('http_seeds.py', input);
    expect(first).toMatchObject({ status: 200, body: [email] });
    expect(first.cookies).toEqual([`AtmoAuthToken_${credentials.akana.tenant}`, `Csrf-Token_${credentials.akana.tenant}`]);
    await stack.mail.waitFor(sentTo(email));
    expect(await run('http_seeds.py', input)).toMatchObject({ status: 200, body: [email] });
    await expectSentAgain(stack, email);
  });

  it('Royalti: a JWT minted by PyJWT invites (role "Admin" matches admin), again 201; one without exp is 401', async () => {
    const email = fresh('royalti');
    const input = { scenario: 'royalti-invite', key: credentials.royalti.jwtKey, sub: stack.tenant.owner.id, workspace_id: credentials.royalti.workspaceId, email, role: 'Admin' };
    const first = await run('http_seeds.py', input);
    expect(first).toMatchObject({ status: 201, body: { message: 'Successful, Email verification Instructions have been sent to your email' } });
    const [invitation] = await invitationsOf(stack, email);
    expect(invitation!.role_id).toBe(stack.tenant.roles.admin);
    await stack.mail.waitFor(sentTo(email));
    expect(await run('http_seeds.py', input)).toMatchObject({ status: 201 });
    await expectSentAgain(stack, email);

    const eternal = fresh('royalti-no-exp');
    expect(await run('http_seeds.py', { ...input, email: eternal, no_exp: true })).toMatchObject({ status: 401, body: { message: expect.stringContaining('exp') } });
    const long = await run('http_seeds.py', { ...input, email: eternal, lifetime: 7 * 24 * 3600 });
    expect(long).toMatchObject({ status: 401 });
    await expectNothingLeftFor(stack, eternal, { noUser: true });
  });
});
