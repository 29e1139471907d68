import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCredential } from '../../src/db/compat-credentials';
import { upsertUser } from '../../src/db/users';
import type { DevCredentials } from '../../src/main/dev/seed';
import { seedCompat } from '../support/compat';
import { sentTo } from '../support/mail';
import { body, startStack, type Stack } from '../support/stack';
import { expectStaysTrue, untilSendsSettled } from '../support/settled';
import { invitationsOf } from './helpers';

/**
 * The seed APIs under production limits: ten password checks a minute per client address and per account, and a
 * resend cooldown of an hour. TRUST_PROXY is off (the default), so X-Forwarded-For names no one. Requests leave from
 * their own loopback addresses (127.x.y.z all reach the server), so each test has client addresses of its own.
 *
 * Eleven attempts go out at once and exactly one must be refused: each attempt costs a scrypt, so sent one after
 * another they would take long enough for the minute's allowance to refill, and which of eleven simultaneous requests
 * the server counts last is not up to the client.
 */
let stack: Stack;
let credentials: DevCredentials;
/** An account of its own for the per-account tests: the owner's allowance is spent by the per-address ones. */
const second = { email: `second.account-${randomBytes(3).toString('hex')}@example.com`, password: randomBytes(12).toString('base64url') };
beforeAll(async () => {
  stack = await startStack({ limits: { writesPerMinute: 0, loginsPerMinute: 10 }, resendLimits: { cooldownSeconds: 3600, perDay: 0, perInvitation: 0 } });
  credentials = await seedCompat(stack);
  const user = await upsertUser(stack.db, { tenantId: stack.tenant.id, email: second.email });
  for (const kind of ['quickbase-password', 'akana-password'] as const) {
    await addCredential(stack.db, { tenantId: stack.tenant.id, userId: user.id, kind, identifier: second.email, secret: second.password, strength: 'password' });
  }
});
afterAll(async () => {
  await stack?.stop();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request from a given local (loopback) address, which is the client address the server sees. */
function from(localAddress: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const url = new URL(path, stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: init.method ?? 'GET', headers: init.headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

/** Exactly one of the replies is the limit's refusal and every other one the ordinary answer; returns the refusal. */
function expectOneRefused(replies: Reply[], summary: (reply: Reply) => string, refusal: string, answer: string): Reply {
  expect(replies.map(summary).sort()).toEqual([refusal, ...times(replies.length - 1, () => answer)].sort());
  return replies.find((reply) => summary(reply) === refusal)!;
}

const errcode = (reply: Reply) => field(reply.text, 'errcode') ?? reply.text;
const status = (reply: Reply) => String(reply.status);

function expectRetryAfter(reply: Reply): void {
  const seconds = Number(reply.headers['retry-after']);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
}

const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

const quickbaseLogin = (address: string, username: string, password: string, spoofed?: string) =>
  from(address, '/db/main', {
    method: 'POST',
    headers: { 'Content-Type': 'application/xml', 'QUICKBASE-ACTION': 'API_Authenticate', ...(spoofed ? { 'X-Forwarded-For': spoofed } : {}) },
    body: `<qdbapi><username>${username}</username><password>${password}</password></qdbapi>`,
  });

const akanaLogin = (address: string, email: string, password: string, spoofed?: string) =>
  from(address, '/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(spoofed ? { 'X-Forwarded-For': spoofed } : {}) },
    body: JSON.stringify({ email, password }),
  });

const ticketsIssued = async () =>
  Number((await stack.db.selectFrom('compat_credentials').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', 'quickbase-ticket').executeTakeFirstOrThrow()).n);

describe('Quickbase API_Authenticate: ten password checks a minute per client address and per account', () => {
  it('of eleven logins at once from one address, with the right password and each a different X-Forwarded-For, one is errcode 77 with Retry-After', async () => {
    const tickets = await ticketsIssued();
    const replies = await Promise.all(times(11, (i) => quickbaseLogin('127.0.1.1', credentials.quickbase.username, credentials.quickbase.password, `203.0.113.${i}`)));
    const refused = expectOneRefused(replies, errcode, '77', '0');
    expect(refused.status).toBe(200);
    expect(refused.headers['content-type']).toMatch(/^text\/xml/);
    expect(field(refused.text, 'errtext')).toBe('API request limit exceeded');
    expect(field(refused.text, 'ticket')).toBeUndefined();
    expectRetryAfter(refused);
    expect(await ticketsIssued()).toBe(tickets + 10);
  });

  it('of eleven logins at once to one account, each from its own address, one is errcode 77', async () => {
    const replies = await Promise.all(times(11, (i) => quickbaseLogin(`127.0.2.${i + 1}`, second.email.toUpperCase(), second.password)));
    expectRetryAfter(expectOneRefused(replies, errcode, '77', '0'));
  });

  it('username and password sent with API_SendInvitation count as logins as well', async () => {
    const user = await upsertUser(stack.db, { tenantId: stack.tenant.id, email: `qb-limit-${randomBytes(3).toString('hex')}@example.com` });
    await stack.db.updateTable('users').set({ external_id: '400001.limit' }).where('id', '=', user.id).execute();
    const send = (i: number) =>
      from('127.0.3.1', `/db/${credentials.quickbase.dbid}?a=API_SendInvitation`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml' },
        body: `<qdbapi><username>nobody-${i}@example.com</username><password>guess</password><apptoken>${credentials.quickbase.apptoken}</apptoken><userid>400001.limit</userid></qdbapi>`,
      });
    const replies = await Promise.all(times(11, send));
    expectOneRefused(replies, errcode, '77', '20');
    expect(await invitationsOf(stack, user.email)).toEqual([]);
  });
});

describe('Akana POST /api/login: the same limits, as 429 in Akana’s error shape', () => {
  it('of eleven logins at once from one address, with the right password and each a different X-Forwarded-For, one is 429 with Retry-After and no cookie', async () => {
    const replies = await Promise.all(times(11, (i) => akanaLogin('127.0.4.1', credentials.akana.email, credentials.akana.password, `203.0.113.${i}`)));
    const refused = expectOneRefused(replies, status, '429', '200');
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(refused.text)).toEqual({ code: 429, message: expect.stringContaining('Too many login attempts') });
    expect(refused.headers['set-cookie']).toBeUndefined();
    expectRetryAfter(refused);
  });

  it('of eleven logins at once to one account, each from its own address, one is 429', async () => {
    const replies = await Promise.all(times(11, (i) => akanaLogin(`127.0.5.${i + 1}`, second.email.toUpperCase(), second.password)));
    expectRetryAfter(expectOneRefused(replies, status, '429', '200'));
  });
});

describe('calling again inside the resend cooldown: the same success, and no further email', () => {
  let n = 0;
  const fresh = (label: string) => `cooldown-${label}-${++n}-${randomBytes(3).toString('hex')}@example.com`;

  /**
   * Three calls for one invitee: the first invites, the second sends the invitation again (the cooldown counts from
   * the last resend), the third falls inside the cooldown. All three answer `expected`; two emails, one invitation.
   */
  async function threeCalls<T>(address: string, call: () => Promise<T>, expected: (answer: T, i: number) => void): Promise<T[]> {
    const answers: T[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await call());
      expected(answers[i]!, i);
      await expect.poll(() => stack.mail.messages().filter(sentTo(address)).length, { timeout: 15_000 }).toBe(Math.min(i + 1, 2));
    }
    await untilSendsSettled(stack, address);
    await expectStaysTrue(async () => stack.mail.messages().filter(sentTo(address)).length === 2 && (await invitationsOf(stack, address)).length === 1);
    return answers;
  }

  it('Mendix answers 204', async () => {
    const mendix = credentials.mendix;
    const invitee = fresh('mendix');
    const call = () =>
      fetch(mendix.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...mendix, RoleUUID: mendix.roles.member, InviteeEmailAddress: invitee }),
      });
    await threeCalls(invitee, call, (response) => expect(response.status).toBe(204));
  });

  it('SAP answers 201 with the same invitation', async () => {
    const invitee = fresh('sap');
    const basic = `Basic ${Buffer.from(`${credentials.sap.clientId}:${credentials.sap.clientSecret}`).toString('base64')}`;
    const call = async () => {
      const response = await fetch(credentials.sap.endpoint, {
        method: 'POST',
        headers: { Authorization: basic, 'Content-Type': 'application/json' },
        body: JSON.stringify({ inviteeEmail: invitee, inviterName: 'Donna Moore' }),
      });
      return { status: response.status, body: await body(response) };
    };
    const answers = await threeCalls(invitee, call, (answer) => expect(answer).toMatchObject({ status: 201, body: { status: 'pending' } }));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
  });

  it('Akana answers 200 naming the address', async () => {
    const invitee = fresh('akana');
    const call = async () => {
      const response = await fetch(credentials.akana.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: credentials.akana.cookie, [credentials.akana.csrfHeader]: credentials.akana.csrfToken },
        body: JSON.stringify({ EmailAddresses: [invitee] }),
      });
      return { status: response.status, body: await body(response) };
    };
    await threeCalls(invitee, call, (answer) => expect(answer).toEqual({ status: 200, body: [invitee] }));
  });

  it('Quickbase answers errcode 0', async () => {
    const user = await upsertUser(stack.db, { tenantId: stack.tenant.id, email: fresh('quickbase') });
    await stack.db.updateTable('users').set({ external_id: '400002.cool' }).where('id', '=', user.id).execute();
    const call = async () =>
      field(await (await fetch(`${stack.baseUrl}/db/${credentials.quickbase.dbid}?a=API_SendInvitation&usertoken=${credentials.quickbase.usertoken}&userid=400002.cool`)).text(), 'errcode');
    await threeCalls(user.email, call, (errcode) => expect(errcode).toBe('0'));
  });

  it('Royalti answers 201; for a link-only invitation, inside the cooldown, with the link as it stands', async () => {
    const royalti = async (email: string, sendEmail = true) => {
      const response = await fetch(credentials.royalti.endpoint, {
        method: 'POST',
        headers: { Authorization: `Bearer ${credentials.royalti.jwt}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, sendEmail }),
      });
      return { status: response.status, body: await body(response) };
    };
    const emailed = fresh('royalti');
    await threeCalls(emailed, () => royalti(emailed), (answer) => expect(answer.status).toBe(201));

    const linkOnly = fresh('royalti-link');
    const [first, resent, cooled] = [await royalti(linkOnly, false), await royalti(linkOnly, false), await royalti(linkOnly, false)];
    for (const answer of [first, resent, cooled]) expect(answer).toMatchObject({ status: 201, body: { acceptUrl: expect.stringContaining('/invite/') } });
    expect(resent.body.acceptUrl).not.toBe(first.body.acceptUrl);
    expect(cooled.body).toEqual(resent.body);
    expect(await invitationsOf(stack, linkOnly)).toHaveLength(1);
    const link = await fetch(cooled.body.acceptUrl);
    expect(link.status).toBe(200);
  });
});
