import { randomBytes, scrypt } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCredential } from '../../src/db/compat-credentials';
import { upsertUser } from '../../src/db/users';
import type { DevCredentials } from '../../src/main/dev/seed';
import { newId } from '../../src/lib/ids';
import { parseQdbapi } from '../../src/compat/quickbase/xml';
import { seedCompat } from '../support/compat';
import { expectSentAgain, expectSentOnce, invitationsOf } from './helpers';
import { sentTo } from '../support/mail';
import { expectStaysTrue } from '../support/settled';
import { body, startStack, type Stack } from '../support/stack';
import { addMember, createTestTenant } from '../support/tenants';

let stack: Stack;
let qb: DevCredentials['quickbase'];
beforeAll(async () => {
  stack = await startStack();
  qb = (await seedCompat(stack)).quickbase;
});
afterAll(async () => {
  await stack?.stop();
});

const SAMPLE_USER_EMAIL = 'quickbase.sample.user@example.com';

/** The seed document's "Sample XML Request" body, character for character. */
const SAMPLE_REQUEST_BODY = `<qdbapi>
   <ticket>auth_ticket</ticket>
   <apptoken>app_token</apptoken>
   <userid>112249.ctdg</userid>
   <usertext>Welcome!</usertext>
</qdbapi>`;

/** The seed document's "Sample response". */
const SAMPLE_RESPONSE = `<?xml version="1.0" ?>
<qdbapi>
   <action>API_SendInvitation</action>
   <errcode>0</errcode>
   <errtext>No error</errtext>
</qdbapi>`;

/** The seed document's "URL alternative" (its line break inside the userid is only the page's wrapping). */
const SAMPLE_URL = '/db/target_dbid?a=API_SendInvitation&userid=112249.ctdg&ticket=auth_ticket&apptoken=app_token&usertext=Hello';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface QuickbaseReply {
  status: number;
  contentType: string;
  raw: string;
  fields: Record<string, string>;
}

const unescapeXml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name]!);

/**
 * Reads a response the way a Quickbase client would, and checks it is the flat, well-formed document Quickbase sends:
 * the declaration, `<qdbapi>`, one escaped element per line.
 */
function readReply(status: number, contentType: string, raw: string): QuickbaseReply {
  expect(raw).toMatch(/^<\?xml version="1\.0" \?>\n<qdbapi>\n(?: {3}<([a-z]+)>(?:[^<&]|&(?:amp|lt|gt|quot|apos);)*<\/\1>\n)*<\/qdbapi>\n$/);
  const fields: Record<string, string> = {};
  for (const m of raw.matchAll(/^ {3}<([a-z]+)>(.*)<\/\1>$/gm)) fields[m[1]!] = unescapeXml(m[2]!);
  return { status, contentType, raw, fields };
}

async function call(path: string, init: RequestInit = {}): Promise<QuickbaseReply> {
  const response = await fetch(`${stack.baseUrl}${path}`, init);
  return readReply(response.status, response.headers.get('content-type') ?? '', await response.text());
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A `<qdbapi>` request as a Quickbase client sends it: POST, QUICKBASE-ACTION header, application/xml. */
function post(action: string, params: Record<string, string>, dbid = 'target_dbid'): Promise<QuickbaseReply> {
  const xml = `<qdbapi>${Object.entries(params)
    .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
    .join('')}</qdbapi>`;
  return postXml(xml, { action, dbid });
}

function postXml(xml: string, { action = 'API_SendInvitation', dbid = 'target_dbid' }: { action?: string; dbid?: string } = {}): Promise<QuickbaseReply> {
  return call(`/db/${dbid}`, { method: 'POST', headers: { 'Content-Type': 'application/xml', 'QUICKBASE-ACTION': action }, body: xml });
}

/** The URL alternative: GET /db/<dbid>?a=<action>&… */
function get(action: string, params: Record<string, string>, dbid = 'target_dbid'): Promise<QuickbaseReply> {
  return call(`/db/${dbid}?${new URLSearchParams({ a: action, ...params })}`);
}

/** A raw HTTP/1.0 exchange over a socket, so the seed's request goes out exactly as printed (absolute URI, no Host). */
function rawHttp(request: string): Promise<QuickbaseReply> {
  const { hostname, port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // HTTP/1.0 without keep-alive: the server answers, then closes the connection.
    const socket = connect(Number(port), hostname, () => socket.write(request));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split).split('\r\n');
      const status = Number(head[0]?.split(' ')[1]);
      const contentType = head.find((h) => /^content-type:/i.test(h))?.replace(/^content-type:\s*/i, '') ?? '';
      try {
        resolve(readReply(status, contentType, text.slice(split + 4)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

let counter = 0;

/** A user provisioned in the tenant as API_ProvisionUser would leave it: known by a Quickbase userid, not yet a member. */
async function provisionUser(label: string, tenantId = stack.tenant.id): Promise<{ id: string; userid: string; email: string }> {
  const n = ++counter;
  const suffix = randomBytes(3).toString('hex');
  const email = `qb-${label}-${n}-${suffix}@example.com`;
  const user = await upsertUser(stack.db, { tenantId, email, firstName: 'Quinn', lastName: `Base${n}` });
  const userid = `${200000 + n}.${suffix.slice(0, 4)}`;
  await stack.db.updateTable('users').set({ external_id: userid }).where('id', '=', user.id).execute();
  return { id: user.id, userid, email };
}

const invitationsTo = (email: string) =>
  stack.db.selectFrom('invitations').selectAll().where('tenant_id', '=', stack.tenant.id).where('email_canonical', '=', email.toLowerCase()).execute();

const countInvitations = async (): Promise<number> =>
  Number((await stack.db.selectFrom('invitations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

const countWorkflows = async (): Promise<number> => (await stack.client.workflow.count(`TaskQueue="${stack.taskQueue}"`)).count;

/** Every address a refused request named: none of them may ever receive mail. */
const refusedAddresses: string[] = [];

/**
 * Sends a request that must be refused with `errcode`: HTTP 200, XML, Quickbase's code and text, a detail, and no
 * invitation, workflow or email left behind.
 */
async function refused(send: () => Promise<QuickbaseReply>, errcode: number, errtext: string): Promise<QuickbaseReply> {
  const invitations = await countInvitations();
  await expect.poll(countWorkflows, { timeout: 10_000, interval: 100 }).toBe(invitations);
  const mail = stack.mail.messages().length;
  const reply = await send();
  expect(reply.status).toBe(200);
  expect(reply.contentType).toMatch(/^(text|application)\/xml/);
  expect(reply.fields).toMatchObject({ errcode: String(errcode), errtext });
  expect(reply.fields.errdetail).toEqual(expect.any(String));
  await expectStaysTrue(async () => (await countInvitations()) === invitations && (await countWorkflows()) === invitations && stack.mail.messages().length === mail);
  return reply;
}

/** A provisioned user whose every invitation attempt in the test must fail. */
async function bystander(label: string) {
  const user = await provisionUser(label);
  refusedAddresses.push(user.email);
  return user;
}

const sampleAuth = () => ({ ticket: qb.ticket, apptoken: qb.apptoken });

async function listInvitations(email: string): Promise<any[]> {
  const response = await stack.api(`/v1/invitations?email=${encodeURIComponent(email)}`);
  expect(response.status).toBe(200);
  return (await body(response)).data;
}

/** Withdraws any open invitation to this address through /v1, so the address can be invited again. */
async function revokeOpenInvitations(email: string): Promise<void> {
  for (const invitation of await listInvitations(email)) {
    if (invitation.status !== 'pending') continue;
    const response = await stack.api(`/v1/invitations/${invitation.id}/revoke`, { method: 'POST', json: { reason: 'invite again' } });
    expect(response.status).toBe(200);
  }
  await expect.poll(async () => (await invitationsTo(email)).filter((i) => i.status === 'pending').length, { timeout: 10_000 }).toBe(0);
}

// ---------------------------------------------------------------------------------------------------------------

describe("the seed document's own samples", () => {
  it('the sample XML request, sent as printed, answers the sample response and the invitee gets the email with the message', async () => {
    const reply = await rawHttp(
      [
        `POST ${stack.baseUrl}/db/target_dbid HTTP/1.0`,
        'Content-Type: application/xml',
        `Content-Length: ${Buffer.byteLength(SAMPLE_REQUEST_BODY)}`,
        'QUICKBASE-ACTION: API_SendInvitation',
        '',
        SAMPLE_REQUEST_BODY,
      ].join('\r\n'),
    );
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^text\/xml/);
    expect(reply.raw.trimEnd()).toBe(SAMPLE_RESPONSE);

    const email = await stack.mail.waitFor((m) => sentTo(SAMPLE_USER_EMAIL)(m) && m.text.includes('Welcome!'));
    expect(email.subject).toContain('invited you to');
    expect(email.acceptLink).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));

    const [invitation] = await listInvitations(SAMPLE_USER_EMAIL);
    expect(invitation).toMatchObject({
      email: SAMPLE_USER_EMAIL,
      origin: 'quickbase',
      status: 'pending',
      message: 'Welcome!',
      role: { slug: 'member' },
      inviter: { id: stack.tenant.owner.id },
      firstName: 'Sample',
      lastName: 'User',
    });
    const audit = await stack.db.selectFrom('audit_events').select('actor').where('invitation_id', '=', invitation.id).where('action', '=', 'invitation.created').executeTakeFirstOrThrow();
    expect(audit.actor).toMatch(/^quickbase:[0-9a-f-]{36}$/);
  });

  it("the seed's URL alternative works as printed, once the first invitation is withdrawn", async () => {
    await revokeOpenInvitations(SAMPLE_USER_EMAIL);
    const reply = await call(SAMPLE_URL);
    expect(reply.status).toBe(200);
    expect(reply.raw.trimEnd()).toBe(SAMPLE_RESPONSE);

    await stack.mail.waitFor((m) => sentTo(SAMPLE_USER_EMAIL)(m) && m.text.includes('Hello'));
    const pending = (await listInvitations(SAMPLE_USER_EMAIL)).filter((i) => i.status === 'pending');
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ origin: 'quickbase', message: 'Hello', role: { slug: 'member' } });
  });
});

describe('ways of calling', () => {
  it('a POST with the action in the query (a=) and the parameters in the XML body works like the header', async () => {
    const user = await provisionUser('query-action');
    const reply = await call('/db/target_dbid?a=API_SendInvitation', {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml' },
      body: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<qdbapi><ticket>${qb.ticket}</ticket><apptoken>${qb.apptoken}</apptoken><userid>${user.userid}</userid><usertext><![CDATA[See you <soon> & welcome]]></usertext></qdbapi>`,
    });
    expect(reply.fields).toMatchObject({ action: 'API_SendInvitation', errcode: '0', errtext: 'No error' });
    const email = await stack.mail.waitFor(sentTo(user.email));
    expect(email.text).toContain('See you <soon> & welcome');
    expect((await invitationsTo(user.email))[0]).toMatchObject({ origin: 'quickbase', message: 'See you <soon> & welcome' });
  });

  it('a form-encoded POST with act= works too', async () => {
    const user = await provisionUser('form');
    const reply = await call('/db/target_dbid?act=API_SendInvitation', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...sampleAuth(), userid: user.userid, usertext: 'Form & friends' }).toString(),
    });
    expect(reply.fields).toMatchObject({ errcode: '0' });
    await stack.mail.waitFor((m) => sentTo(user.email)(m) && m.text.includes('Form & friends'));
  });

  it('udata comes back as sent, escaped so the reply stays well-formed, on success and on refusal', async () => {
    const udata = `<b>"Tom" & 'Jerry'</b> ]]> é`;
    const user = await provisionUser('udata');
    const ok = await post('API_SendInvitation', { ...sampleAuth(), userid: user.userid, udata });
    expect(ok.fields).toMatchObject({ errcode: '0', udata });
    expect(ok.raw).toContain('<udata>&lt;b&gt;&quot;Tom&quot; &amp; &apos;Jerry&apos;&lt;/b&gt; ]]&gt; é</udata>');

    const refusal = await get('API_SendInvitation', { ...sampleAuth(), udata });
    expect(refusal.fields).toMatchObject({ errcode: '2', udata });
  });
});

describe('authentication', () => {
  it('API_Authenticate on /db/main trades username and password for a ticket, which then sends an invitation', async () => {
    const before = Date.now();
    const auth = await post('API_Authenticate', { username: qb.username, password: qb.password, hours: '2' }, 'main');
    expect(auth.fields).toMatchObject({ action: 'api_authenticate', errcode: '0', errtext: 'No error', userid: qb.userids.owner });
    expect(auth.fields.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const issued = await stack.db
      .selectFrom('compat_credentials')
      .selectAll()
      .where('tenant_id', '=', stack.tenant.id)
      .where('kind', '=', 'quickbase-ticket')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    expect(issued.user_id).toBe(stack.tenant.owner.id);
    expect(issued.expires_at!.getTime()).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1000);
    expect(issued.expires_at!.getTime()).toBeLessThanOrEqual(Date.now() + 2 * 3_600_000 + 1000);

    const user = await provisionUser('fresh-ticket');
    const reply = await post('API_SendInvitation', { ticket: auth.fields.ticket!, apptoken: qb.apptoken, userid: user.userid, usertext: 'From a fresh ticket' });
    expect(reply.fields).toMatchObject({ errcode: '0' });
    await stack.mail.waitFor((m) => sentTo(user.email)(m) && m.text.includes('From a fresh ticket'));
    const [invitation] = await invitationsTo(user.email);
    const audit = await stack.db.selectFrom('audit_events').select('actor').where('invitation_id', '=', invitation!.id).where('action', '=', 'invitation.created').executeTakeFirstOrThrow();
    expect(audit.actor).toBe(`quickbase:${issued.id}`);
  });

  it('API_Authenticate by URL, on the app itself, works as well, and a ticket can be traded for a new one', async () => {
    const byUrl = await get('API_Authenticate', { username: qb.username.toUpperCase(), password: qb.password, udata: 'login' }, 'target_dbid');
    expect(byUrl.fields).toMatchObject({ errcode: '0', udata: 'login', userid: qb.userids.owner });
    const renewed = await get('API_Authenticate', { ticket: byUrl.fields.ticket! }, 'main');
    expect(renewed.fields).toMatchObject({ errcode: '0' });
    expect(renewed.fields.ticket).not.toBe(byUrl.fields.ticket);
  });

  it('API_Authenticate refuses a wrong password with errcode 20, and a bad hours value with 2', async () => {
    const wrong = await post('API_Authenticate', { username: qb.username, password: 'not-the-password' }, 'main');
    expect(wrong.fields).toMatchObject({ action: 'API_Authenticate', errcode: '20', errtext: 'Unknown username/password' });
    expect(wrong.fields.ticket).toBeUndefined();
    const unknown = await get('API_Authenticate', { username: 'nobody@example.com', password: 'x' }, 'main');
    expect(unknown.fields).toMatchObject({ errcode: '20' });
    const hours = await post('API_Authenticate', { username: qb.username, password: qb.password, hours: 'lots' }, 'main');
    expect(hours.fields).toMatchObject({ errcode: '2', errtext: 'Invalid input' });
  });

  it('a user token alone sends an invitation: no application token needed, as in Quickbase', async () => {
    const user = await provisionUser('usertoken');
    const reply = await post('API_SendInvitation', { usertoken: qb.usertoken, userid: user.userid });
    expect(reply.fields).toMatchObject({ errcode: '0' });
    await stack.mail.waitFor(sentTo(user.email));
  });

  it('username and password in the request itself send an invitation (with the app token)', async () => {
    const user = await provisionUser('password');
    const reply = await get('API_SendInvitation', { username: qb.username, password: qb.password, apptoken: qb.apptoken, userid: user.userid });
    expect(reply.fields).toMatchObject({ errcode: '0' });
    await stack.mail.waitFor(sentTo(user.email));
  });
});

describe("refusals answer Quickbase's own error codes, with HTTP 200, and leave no invitation and no email", () => {
  it('an unknown ticket is errcode 4 (Bad ticket)', async () => {
    const user = await bystander('bad-ticket');
    await refused(() => post('API_SendInvitation', { ticket: 'not_a_ticket', apptoken: qb.apptoken, userid: user.userid }), 4, 'Bad ticket');
  });

  it('an expired ticket is errcode 4 too', async () => {
    const user = await bystander('expired-ticket');
    const ticket = `expired_${randomBytes(8).toString('hex')}`;
    await addCredential(stack.db, { tenantId: stack.tenant.id, kind: 'quickbase-ticket', token: ticket, userId: stack.tenant.owner.id, expiresAt: new Date(Date.now() - 1000) });
    await refused(() => post('API_SendInvitation', { ticket, apptoken: qb.apptoken, userid: user.userid }), 4, 'Bad ticket');
  });

  it('an unknown user token is errcode 4', async () => {
    const user = await bystander('bad-usertoken');
    await refused(() => post('API_SendInvitation', { usertoken: 'b_not_a_token', userid: user.userid }), 4, 'Bad ticket');
  });

  it('a wrong password in the request is errcode 20 (Unknown username/password)', async () => {
    const user = await bystander('bad-password');
    await refused(
      () => post('API_SendInvitation', { username: qb.username, password: 'wrong', apptoken: qb.apptoken, userid: user.userid }),
      20,
      'Unknown username/password',
    );
  });

  it('no credentials at all is errcode 22 (Sign-in required)', async () => {
    const user = await bystander('no-auth');
    await refused(() => get('API_SendInvitation', { apptoken: qb.apptoken, userid: user.userid }), 22, 'Sign-in required');
  });

  it('a missing userid is errcode 2 (Invalid input)', async () => {
    const reply = await refused(() => post('API_SendInvitation', { ...sampleAuth(), usertext: 'to whom?' }), 2, 'Invalid input');
    expect(reply.fields.errdetail).toContain('userid');
  });

  it('a userid no user of the app has is errcode 21 (Unknown user)', async () => {
    const reply = await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: '999999.none' }), 21, 'Unknown user');
    expect(reply.fields.errdetail).toContain('999999.none');
  });

  it("a userid of another app's user is errcode 21 as well", async () => {
    const other = await createTestTenant(stack.db);
    const stranger = await provisionUser('stranger', other.id);
    refusedAddresses.push(stranger.email);
    await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: stranger.userid }), 21, 'Unknown user');
  });

  it('a missing application token, where the app requires one, is errcode 24 (Invalid application token)', async () => {
    const user = await bystander('no-apptoken');
    await refused(() => post('API_SendInvitation', { ticket: qb.ticket, userid: user.userid }), 24, 'Invalid application token');
    await refused(() => post('API_SendInvitation', { username: qb.username, password: qb.password, userid: user.userid }), 24, 'Invalid application token');
  });

  it('a wrong application token is errcode 24', async () => {
    const user = await bystander('bad-apptoken');
    await refused(() => post('API_SendInvitation', { ticket: qb.ticket, apptoken: 'not_the_app_token', userid: user.userid }), 24, 'Invalid application token');
  });

  it('a user token of someone who is not a member of the app is errcode 3 (Insufficient permissions)', async () => {
    const user = await bystander('by-outsider');
    const outsider = await provisionUser('outsider');
    const token = `b_${randomBytes(12).toString('hex')}`;
    await addCredential(stack.db, { tenantId: stack.tenant.id, kind: 'quickbase-user-token', token, userId: outsider.id });
    await refused(() => post('API_SendInvitation', { usertoken: token, userid: user.userid }), 3, 'Insufficient permissions');
  });

  it("a member whose role ranks below the app's default role is errcode 3", async () => {
    const user = await bystander('by-guest');
    const guestRole = newId();
    await stack.db.insertInto('roles').values({ id: guestRole, tenant_id: stack.tenant.id, slug: 'guest', name: 'Guest', rank: 5 }).execute();
    const guest = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: guestRole, email: `guest-${randomBytes(3).toString('hex')}@example.com` });
    const token = `b_${randomBytes(12).toString('hex')}`;
    await addCredential(stack.db, { tenantId: stack.tenant.id, kind: 'quickbase-user-token', token, userId: guest.id });
    const reply = await refused(() => post('API_SendInvitation', { usertoken: token, userid: user.userid }), 3, 'Insufficient permissions');
    expect(reply.fields.errdetail).toContain('role');
  });

  it("a ticket that is good for another app is errcode 3 on this one, and that app's dbid refuses this app's ticket", async () => {
    const user = await bystander('cross-app');
    const other = await createTestTenant(stack.db);
    const otherDbid = `other_${randomBytes(4).toString('hex')}`;
    await stack.db.updateTable('tenants').set({ quickbase_dbid: otherDbid }).where('id', '=', other.id).execute();
    const otherTicket = `other_ticket_${randomBytes(8).toString('hex')}`;
    await addCredential(stack.db, { tenantId: other.id, kind: 'quickbase-ticket', token: otherTicket, userId: other.owner.id });

    await refused(() => post('API_SendInvitation', { ticket: otherTicket, apptoken: qb.apptoken, userid: user.userid }), 3, 'Insufficient permissions');
    await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: user.userid }, otherDbid), 3, 'Insufficient permissions');
  });

  it('a dbid no app has is errcode 32, and API_SendInvitation on /db/main is errcode 14', async () => {
    const user = await bystander('no-app');
    await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: user.userid }, 'bzzzzzzzz'), 32, 'The application does not exist or was deleted');
    await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: user.userid }, 'main'), 14, 'Missing DBID or DBID of wrong type');
  });


  it('an app with invitations switched off answers errcode 3', async () => {
    const user = await bystander('switched-off');
    await stack.db.updateTable('tenants').set({ invitations_enabled: false }).where('id', '=', stack.tenant.id).execute();
    try {
      await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: user.userid }), 3, 'Insufficient permissions');
    } finally {
      await stack.db.updateTable('tenants').set({ invitations_enabled: true }).where('id', '=', stack.tenant.id).execute();
    }
  });

  it('a parameter given twice with different values, or a usertext over 5,000 characters, is errcode 2', async () => {
    const user = await bystander('invalid-input');
    await refused(() => postXml(`<qdbapi><ticket>${qb.ticket}</ticket><apptoken>${qb.apptoken}</apptoken><userid>${user.userid}</userid><userid>112249.ctdg</userid></qdbapi>`), 2, 'Invalid input');
    await refused(() => post('API_SendInvitation', { ...sampleAuth(), userid: user.userid, usertext: 'x'.repeat(5001) }), 2, 'Invalid input');
  });

  it('a body that is not well-formed XML is errcode 11 (Could not parse XML input), never a crash', async () => {
    const user = await bystander('malformed');
    const bodies = [
      `<qdbapi><ticket>${qb.ticket}</ticket><userid>${user.userid}</userid>`,
      `<qdbapi><ticket>${qb.ticket}</tickets><userid>${user.userid}</userid></qdbapi>`,
      `<?xml version="1.0"?><!DOCTYPE qdbapi [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><qdbapi><userid>&lol2;</userid></qdbapi>`,
      `<qdbapi><ticket>${qb.ticket}</ticket><userid>${user.userid}&nbsp;</userid></qdbapi>`,
      `<qdbapi><ticket>${qb.ticket}</ticket><userid><id>${user.userid}</id></userid></qdbapi>`,
      `<qdbapi><ticket>${qb.ticket}</ticket><userid>${user.userid}</userid></qdbapi><qdbapi/>`,
      `<qdbapi><usertext>fish & chips</usertext><userid>${user.userid}</userid></qdbapi>`,
      `<qdbapi><usertext>bell \u0007</usertext><userid>${user.userid}</userid></qdbapi>`,
      `<qdbapi><usertext>&#0;</usertext><userid>${user.userid}</userid></qdbapi>`,
      `<notqdbapi><userid>${user.userid}</userid></notqdbapi>`,
      `userid=${user.userid}&ticket=${qb.ticket}`,
      '<qdbapi',
    ];
    for (const xml of bodies) {
      const reply = await refused(() => postXml(xml), 11, 'Could not parse XML input');
      expect(reply.fields.action).toBe('API_SendInvitation');
    }
  });

  it('an action this server does not serve is errcode 5 (Unimplemented operation), and no action at all is errcode 2', async () => {
    const unknown = await refused(() => post('API_DoQuery', { ...sampleAuth(), query: "{'3'.EX.'1'}" }), 5, 'Unimplemented operation');
    expect(unknown.fields.action).toBe('API_DoQuery');
    await refused(() => call(`/db/target_dbid?ticket=${qb.ticket}`), 2, 'Invalid input');
    await refused(() => call(`/db/target_dbid?a=<script>`), 5, 'Unimplemented operation');
  });

  it('none of the refused requests ever emailed anyone', async () => {
    expect(refusedAddresses.length).toBeGreaterThan(10);
    const untouched = async () => {
      for (const address of refusedAddresses) {
        if (stack.mail.messages().some(sentTo(address)) || (await invitationsTo(address)).length > 0) return false;
      }
      return true;
    };
    await expectStaysTrue(untouched, 1000, 100);
  });
});

describe('calling again, and users who already have access', () => {
  it('inviting someone whose invitation is still open is errcode 0 and sends that same invitation again, with a fresh link', async () => {
    const user = await provisionUser('twice');
    expect((await post('API_SendInvitation', { ...sampleAuth(), userid: user.userid, usertext: 'first' })).fields).toMatchObject({ errcode: '0' });
    await stack.mail.waitFor(sentTo(user.email));
    const again = await post('API_SendInvitation', { ...sampleAuth(), userid: user.userid, usertext: 'second', udata: 'retry' });
    expect(again.fields).toMatchObject({ action: 'API_SendInvitation', errcode: '0', errtext: 'No error', udata: 'retry' });
    await expectSentAgain(stack, user.email);
  });

  it('inviting someone who already has access is errcode 0, and nothing is stored or sent', async () => {
    const owner = await stack.db.selectFrom('users').select('email').where('id', '=', stack.tenant.owner.id).executeTakeFirstOrThrow();
    const invitations = await countInvitations();
    const mail = stack.mail.messages().length;
    const reply = await post('API_SendInvitation', { ...sampleAuth(), userid: qb.userids.owner! });
    expect(reply.fields).toMatchObject({ errcode: '0', errtext: 'No error' });
    expect(reply.fields.errdetail).toBeUndefined();
    await expectStaysTrue(async () => (await countInvitations()) === invitations && stack.mail.messages().length === mail);
    expect(await invitationsOf(stack, owner.email)).toHaveLength(0);
  });

  it('a parameter repeated with the same value is one parameter (pyintuition sends its apptoken twice)', async () => {
    const user = await provisionUser('same-twice');
    const reply = await postXml(`<qdbapi><ticket>${qb.ticket}</ticket><apptoken>${qb.apptoken}</apptoken><apptoken>${qb.apptoken}</apptoken><userid>${user.userid}</userid></qdbapi>`);
    expect(reply.fields).toMatchObject({ errcode: '0' });
    await expectSentOnce(stack, user.email);
  });
});

describe('what older and other clients send', () => {
  it('username and password win over a ticket sent alongside them, so a stale ticket cannot loop a client re-authenticating', async () => {
    const auth = await post('API_Authenticate', { ticket: 'None', username: qb.username, password: qb.password, hours: '24' }, 'main');
    expect(auth.fields).toMatchObject({ action: 'api_authenticate', errcode: '0', userid: qb.userids.owner });
    const user = await provisionUser('stale-ticket');
    const reply = await post('API_SendInvitation', { ticket: 'expired_long_ago', username: qb.username, password: qb.password, apptoken: qb.apptoken, userid: user.userid });
    expect(reply.fields).toMatchObject({ errcode: '0' });
    await expectSentOnce(stack, user.email);
  });

  it('Authorization: QB-USER-TOKEN <token> is read as the user token; a bad one is errcode 4', async () => {
    const user = await provisionUser('header-token');
    const sendWith = (token: string) =>
      call(`/db/target_dbid?a=API_SendInvitation`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml', Authorization: `QB-USER-TOKEN ${token}` },
        body: `<qdbapi><userid>${user.userid}</userid></qdbapi>`,
      });
    expect((await sendWith('b_not_a_token')).fields).toMatchObject({ errcode: '4', errtext: 'Bad ticket' });
    expect((await sendWith(qb.usertoken)).fields).toMatchObject({ errcode: '0' });
    await expectSentOnce(stack, user.email);
  });

  it('a body in ISO-8859-1 or Windows-1252 is read as its XML declaration (or Content-Type charset) says', async () => {
    for (const [label, encode, text] of [
      ['ISO-8859-1', (t: string) => Buffer.from(t, 'latin1'), 'Grüße aus Köln, à bientôt'],
      ['windows-1252', win1252, 'Price: 5 € – “quoted”'],
    ] as const) {
      const user = await provisionUser(`encoding-${label}`);
      const xml = `<?xml version="1.0" encoding="${label}"?><qdbapi><ticket>${qb.ticket}</ticket><apptoken>${qb.apptoken}</apptoken><userid>${user.userid}</userid><usertext>${text}</usertext></qdbapi>`;
      const reply = await call('/db/target_dbid', { method: 'POST', headers: { 'Content-Type': 'application/xml', 'QUICKBASE-ACTION': 'API_SendInvitation' }, body: encode(xml) });
      expect(reply.fields).toMatchObject({ errcode: '0' });
      const email = await stack.mail.waitFor(sentTo(user.email));
      expect(email.text).toContain(text);
    }
    const user = await provisionUser('encoding-header');
    const xml = `<qdbapi><ticket>${qb.ticket}</ticket><apptoken>${qb.apptoken}</apptoken><userid>${user.userid}</userid><usertext>Señor Nuñez</usertext></qdbapi>`;
    const reply = await call('/db/target_dbid', { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=ISO-8859-1', 'QUICKBASE-ACTION': 'API_SendInvitation' }, body: Buffer.from(xml, 'latin1') });
    expect(reply.fields).toMatchObject({ errcode: '0' });
    expect((await stack.mail.waitFor(sentTo(user.email))).text).toContain('Señor Nuñez');
  });

  it('Latin-1 bytes declared as nothing (so UTF-8), or an encoding that is not supported, are errcode 11', async () => {
    const user = await bystander('undeclared-latin1');
    const body = `<qdbapi><ticket>${qb.ticket}</ticket><apptoken>${qb.apptoken}</apptoken><userid>${user.userid}</userid><usertext>café</usertext></qdbapi>`;
    const headers = { 'Content-Type': 'application/xml', 'QUICKBASE-ACTION': 'API_SendInvitation' };
    const undeclared = await refused(() => call('/db/target_dbid', { method: 'POST', headers, body: Buffer.from(body, 'latin1') }), 11, 'Could not parse XML input');
    expect(undeclared.fields.errdetail).toContain('not valid UTF-8');
    const sjis = await refused(() => call('/db/target_dbid', { method: 'POST', headers, body: `<?xml version="1.0" encoding="Shift_JIS"?>${body}` }), 11, 'Could not parse XML input');
    expect(sjis.fields.errdetail).toContain('not supported');
  });
});

describe('passwords', () => {
  it('a password hashed at the old cost (Node defaults, scrypt$salt$hash) still signs in, and is then re-hashed at the current cost', async () => {
    const legacy = await legacyScryptHash(qb.password);
    const row = () =>
      stack.db
        .selectFrom('compat_credentials')
        .select(['id', 'secret_hash'])
        .where('tenant_id', '=', stack.tenant.id)
        .where('kind', '=', 'quickbase-password')
        .executeTakeFirstOrThrow();
    expect((await row()).secret_hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    await stack.db.updateTable('compat_credentials').set({ secret_hash: legacy }).where('id', '=', (await row()).id).execute();

    const wrong = await post('API_Authenticate', { username: qb.username, password: 'not-the-password' }, 'main');
    expect(wrong.fields).toMatchObject({ errcode: '20' });
    expect((await row()).secret_hash).toBe(legacy);

    const auth = await post('API_Authenticate', { username: qb.username, password: qb.password }, 'main');
    expect(auth.fields).toMatchObject({ errcode: '0' });
    const rehashed = (await row()).secret_hash!;
    expect(rehashed).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect((await post('API_Authenticate', { username: qb.username, password: qb.password }, 'main')).fields).toMatchObject({ errcode: '0' });
    expect((await row()).secret_hash).toBe(rehashed);
  });
});

describe('the request parser, on its own', () => {
  it('reads what Quickbase clients send: a declaration, references, CDATA, comments, namespaces, empty elements', () => {
    const body = `\uFEFF<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<!-- built by a client -->\r\n<qdbapi xmlns="urn:x">\r\n <usertext>Fish &amp; chips &lt;3 &#65;&#x1F600;\r\nbye</usertext><udata><![CDATA[<raw> & ]]]></udata><ticket/>\r\n</qdbapi>\n`;
    expect(parseQdbapi(body)).toEqual([
      { name: 'usertext', value: 'Fish & chips <3 A😀\nbye' },
      { name: 'udata', value: '<raw> & ]' },
      { name: 'ticket', value: '' },
    ]);
  });

  it('accepts the encodings a body may be decoded from (UTF-8, ISO-8859-1, Windows-1252) and refuses any other', () => {
    expect(parseQdbapi('<?xml version="1.0" encoding="ISO-8859-1"?><qdbapi><usertext>é</usertext></qdbapi>')).toEqual([{ name: 'usertext', value: 'é' }]);
    expect(parseQdbapi("<?xml version='1.0' encoding='windows-1252'?><qdbapi><usertext>€</usertext></qdbapi>")).toEqual([{ name: 'usertext', value: '€' }]);
    expect(() => parseQdbapi('<?xml version="1.0" encoding="Shift_JIS"?><qdbapi/>')).toThrow(/not supported/);
  });

  it('refuses what XML forbids or Quickbase never sends, saying where', () => {
    for (const [body, message] of [
      [' <?xml version="1.0"?><qdbapi/>', /declaration must come first/],
      ['<qdbapi><a>]]></a></qdbapi>', /"\]\]>"/],
      ['<qdbapi><a b="<">x</a></qdbapi>', /"<" is not allowed/],
      ['<qdbapi><a>&#xD800;</a></qdbapi>', /character reference/],
      ['<qdbapi><!-- a -- b --></qdbapi>', /inside a comment/],
      ['<qdbapi>loose text</qdbapi>', /text directly inside/],
      ['<?xml-stylesheet href="x"?><qdbapi/>', /processing instructions/],
      ['', /empty/],
    ] as const) {
      expect(() => parseQdbapi(body)).toThrow(message);
    }
  });
});

/** The stored form passwords had before: Node's scrypt defaults (N=16384, r=8, p=1), 32 bytes, `scrypt$salt$hash`. */
async function legacyScryptHash(password: string): Promise<string> {
  const salt = randomBytes(16).toString('base64url');
  const hash = await new Promise<Buffer>((resolve, reject) => scrypt(password, salt, 32, (err, key) => (err ? reject(err) : resolve(key))));
  return `scrypt$${salt}$${hash.toString('base64url')}`;
}

/** Windows-1252 bytes for text in that code page (TextEncoder only writes UTF-8). */
function win1252(text: string): Buffer {
  const decoder = new TextDecoder('windows-1252');
  const table = new Map<string, number>();
  for (let byte = 0; byte < 256; byte++) table.set(decoder.decode(Uint8Array.of(byte)), byte);
  return Buffer.from([...text].map((ch) => table.get(ch) ?? 0x3f));
}
