import { randomBytes, scrypt } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCredentials } from '../../src/main/dev/seed';
import { canonicalEmail } from '../../src/lib/email-address';
import { seedCompat } from '../support/compat';
import { sentTo } from '../support/mail';
import { expectNothingLeftFor } from '../support/nothing-left';
import { addMember } from '../support/tenants';
import { body, startStack, type Stack } from '../support/stack';
import { expectSentAgain } from './helpers';

let stack: Stack;
let akana: DevCredentials['akana'];
beforeAll(async () => {
  stack = await startStack();
  akana = (await seedCompat(stack)).akana;
});
afterAll(async () => {
  await stack?.stop();
});

/** The seed's sample request body, byte for byte. */
const SAMPLE_BODY = `{
  "EmailAddresses":[
    "jane.mead@acmepaymentscorp.com"
  ],
  "Message":"You should join this awesome app management platform."
}`;

/** A raw HTTP/1.0 exchange, as the seed's sample writes it: request line, headers, blank line, body. */
async function rawHttp(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(stack.baseUrl);
  const response = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
  const split = response.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = response.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: response.slice(split + 4) };
}

/** POST /api/users/invitations as a logged-in Akana user; `csrf: null` leaves the header out. */
function invite(json: unknown, options: { csrf?: string | null; cookie?: string | null; contentType?: string; accept?: string } = {}): Promise<Response> {
  const headers = new Headers({ accept: options.accept ?? '*/*', 'content-type': options.contentType ?? 'application/json; charset=UTF-8' });
  const cookie = options.cookie === undefined ? akana.cookie : options.cookie;
  if (cookie) headers.set('cookie', cookie);
  const csrf = options.csrf === undefined ? akana.csrfToken : options.csrf;
  if (csrf !== null) headers.set(akana.csrfHeader, csrf);
  return fetch(akana.endpoint, { method: 'POST', headers, body: typeof json === 'string' ? json : JSON.stringify(json) });
}

const invitationsFor = (email: string) =>
  stack.db.selectFrom('invitations').selectAll().where('tenant_id', '=', stack.tenant.id).where('email_canonical', '=', canonicalEmail(email)).execute();


async function expectAkanaRefusal(response: Response, status: number): Promise<{ code: number; message: string }> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const refusal = await body(response);
  expect(refusal).toMatchObject({ code: status, message: expect.any(String) });
  expect(refusal).not.toHaveProperty('type');
  return refusal;
}

describe('Akana POST /api/users/invitations', () => {
  it("accepts the documentation's sample request as written and emails Jane the message", async () => {
    const request = [
      'POST http://{hostname}/api/users/invitations HTTP/1.0',
      `Host: ${new URL(stack.baseUrl).host}`,
      'Accept: */*',
      'Content-Type: application/json; charset=UTF-8',
      `X-Csrf-Token_${akana.tenant}: ${akana.csrfToken}`,
      `Cookie: ${akana.cookie}`,
      `Content-Length: ${Buffer.byteLength(SAMPLE_BODY)}`,
      '',
      SAMPLE_BODY,
    ]
      .join('\r\n')
      .replace('http://{hostname}', stack.baseUrl);

    const response = await rawHttp(request);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual(['jane.mead@acmepaymentscorp.com']);

    const [invitation, ...others] = await invitationsFor('jane.mead@acmepaymentscorp.com');
    expect(others).toEqual([]);
    expect(invitation).toMatchObject({
      origin: 'akana',
      status: 'pending',
      inviter_user_id: stack.tenant.owner.id,
      role_id: stack.tenant.roles.member,
      message: 'You should join this awesome app management platform.',
      send_email: true,
    });

    const email = await stack.mail.waitFor(sentTo('jane.mead@acmepaymentscorp.com'));
    expect(email.text).toContain('You should join this awesome app management platform.');
    expect(email.acceptLink).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));
  });

  it('invites three people at once and answers in the API version the client asked for', async () => {
    const addresses = ['ann.bulk@example.com', 'ben.bulk@example.com', 'cleo.bulk@example.com'];
    const response = await invite(
      { EmailAddresses: addresses, Message: 'Welcome, all three of you.' },
      { contentType: 'application/vnd.soa.v81+json; charset=UTF-8', accept: 'application/vnd.soa.v81+json' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/vnd\.soa\.v81\+json/);
    expect(await body(response)).toEqual(addresses);

    for (const address of addresses) {
      expect(await invitationsFor(address)).toEqual([expect.objectContaining({ origin: 'akana', message: 'Welcome, all three of you.' })]);
      const email = await stack.mail.waitFor(sentTo(address));
      expect(email.text).toContain('Welcome, all three of you.');
    }
  });

  it('accepts every documented API version as the Content-Type', async () => {
    for (const [i, type] of ['application/json', 'application/vnd.soa.v71+json', 'application/vnd.soa.v72+json', 'application/vnd.soa.v80+json'].entries()) {
      const address = `version.${i}@example.com`;
      const response = await invite({ EmailAddresses: [address] }, { contentType: type });
      expect(response.status).toBe(200);
      expect(await body(response)).toEqual([address]);
    }
  });

  it('refuses without the CSRF header and invites nobody', async () => {
    const refusal = await expectAkanaRefusal(await invite({ EmailAddresses: ['no.csrf@example.com'] }, { csrf: null }), 401);
    expect(refusal.message).toContain(akana.csrfHeader);
    await expectNothingLeftFor(stack, 'no.csrf@example.com', { noUser: true });
  });

  it('refuses a wrong CSRF token and invites nobody', async () => {
    await expectAkanaRefusal(await invite({ EmailAddresses: ['wrong.csrf@example.com'] }, { csrf: 'not-the-token' }), 401);
    await expectNothingLeftFor(stack, 'wrong.csrf@example.com', { noUser: true });
  });

  it('refuses a caller who is not logged in, or whose session is unknown, and invites nobody', async () => {
    await expectAkanaRefusal(await invite({ EmailAddresses: ['no.session@example.com'] }, { cookie: null }), 401);
    await expectAkanaRefusal(await invite({ EmailAddresses: ['no.session@example.com'] }, { cookie: `AtmoAuthToken_${akana.tenant}=forged-session` }), 401);
    // A real session presented under another tenant's cookie name does not count either.
    const session = akana.cookie.split('=')[1];
    await expectAkanaRefusal(await invite({ EmailAddresses: ['no.session@example.com'] }, { cookie: `AtmoAuthToken_elsewhere=${session}` }), 401);
    await expectNothingLeftFor(stack, 'no.session@example.com', { noUser: true });
  });

  it('refuses with 401 while invitations are switched off in the tenant settings, and invites nobody', async () => {
    await stack.db.updateTable('tenants').set({ invitations_enabled: false }).where('id', '=', stack.tenant.id).execute();
    try {
      const refusal = await expectAkanaRefusal(await invite({ EmailAddresses: ['switched.off@example.com', 'switched.off2@example.com'] }), 401);
      expect(refusal.message).toContain('disabled');
    } finally {
      await stack.db.updateTable('tenants').set({ invitations_enabled: true }).where('id', '=', stack.tenant.id).execute();
    }
    await expectNothingLeftFor(stack, 'switched.off@example.com', { noUser: true });
    await expectNothingLeftFor(stack, 'switched.off2@example.com', { noUser: true });
  });

  it('invites nobody when one address of the bulk is not an email address', async () => {
    const refusal = await expectAkanaRefusal(await invite({ EmailAddresses: ['valid.first@example.com', 'not-an-address', 'valid.last@example.com'] }), 400);
    expect(refusal).toMatchObject({ InvalidEmailAddresses: ['not-an-address'] });
    await expectNothingLeftFor(stack, 'valid.first@example.com', { noUser: true });
    await expectNothingLeftFor(stack, 'valid.last@example.com', { noUser: true });
  });

  it('refuses a body without EmailAddresses, and one that is not JSON', async () => {
    await expectAkanaRefusal(await invite({ Message: 'nobody to invite' }), 400);
    await expectAkanaRefusal(await invite({ EmailAddresses: [] }), 400);
    await expectAkanaRefusal(await invite('{"EmailAddresses": ['), 400);
  });

  it('answers a repeated request the same way, sends the open invitation again with a fresh link, and leaves members out', async () => {
    const member = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.member, email: 'already.member@example.com' });
    const first = await invite({ EmailAddresses: ['twice@example.com'] });
    expect(await body(first)).toEqual(['twice@example.com']);
    await stack.mail.waitFor(sentTo('twice@example.com'));

    const again = await invite({ EmailAddresses: ['TWICE@example.com', member.email, 'fresh.one@example.com'] });
    expect(again.status).toBe(200);
    expect(await body(again)).toEqual(['TWICE@example.com', 'fresh.one@example.com']);
    expect(await invitationsFor('twice@example.com')).toHaveLength(1);
    expect(await invitationsFor(member.email)).toEqual([]);
    await stack.mail.waitFor(sentTo('fresh.one@example.com'));
    await expectSentAgain(stack, 'twice@example.com');
  });

  it('answers an unknown API version with 404 and other methods in the same JSON shape', async () => {
    await expectAkanaRefusal(await invite({ EmailAddresses: ['future.version@example.com'] }, { contentType: 'application/vnd.soa.v99+json' }), 404);
    await expectAkanaRefusal(await invite({ EmailAddresses: ['future.version@example.com'] }, { accept: 'application/vnd.soa.v99+json' }), 404);
    await expectAkanaRefusal(await fetch(`${akana.endpoint}/nothing-here`, { method: 'POST', headers: { cookie: akana.cookie } }), 404);
    const get = await fetch(akana.endpoint, { headers: { cookie: akana.cookie } });
    await expectAkanaRefusal(get, 405);
    expect(get.headers.get('allow')).toBe('POST');
    await expectNothingLeftFor(stack, 'future.version@example.com', { noUser: true });
  });

  it('needs no CSRF header where the tenant does not require one', async () => {
    await stack.db.updateTable('tenants').set({ akana_requires_csrf: false }).where('id', '=', stack.tenant.id).execute();
    try {
      const response = await invite({ EmailAddresses: ['no.csrf.needed@example.com'] }, { csrf: null });
      expect(response.status).toBe(200);
      expect(await body(response)).toEqual(['no.csrf.needed@example.com']);
    } finally {
      await stack.db.updateTable('tenants').set({ akana_requires_csrf: true }).where('id', '=', stack.tenant.id).execute();
    }
  });
});

describe('Akana POST /api/login', () => {
  it('an email and password give the session and CSRF cookies, and with them the user invites', async () => {
    const response = await fetch(`${stack.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email: akana.email, password: akana.password }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ userName: akana.email, fedMemberID: akana.tenant });
    const cookies = Object.fromEntries(response.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));
    const session = cookies[`AtmoAuthToken_${akana.tenant}`];
    const csrf = cookies[`Csrf-Token_${akana.tenant}`];
    expect(session).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(response.headers.getSetCookie().find((c) => c.startsWith('AtmoAuthToken_'))).toMatch(/httponly/i);

    const invited = await fetch(`${stack.baseUrl}/api/users/invitations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: `AtmoAuthToken_${akana.tenant}=${session}`, [akana.csrfHeader]: csrf! },
      body: JSON.stringify({ EmailAddresses: ['after.login@example.com'], Message: 'Logged in first' }),
    });
    expect(invited.status).toBe(200);
    expect(await invited.json()).toEqual(['after.login@example.com']);
    await stack.mail.waitFor(sentTo('after.login@example.com'));
  });

  it('a wrong password is 401 and sets no cookie; a missing field is 400', async () => {
    const wrong = await fetch(`${stack.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: akana.email, password: 'not-the-password' }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: 401 });
    expect(wrong.headers.getSetCookie()).toEqual([]);
    const missing = await fetch(`${stack.baseUrl}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: akana.email }) });
    expect(missing.status).toBe(400);
  });

  it('a password stored at the old cost (scrypt$salt$hash, Node defaults) logs in and is then stored at the current cost', async () => {
    const row = () =>
      stack.db
        .selectFrom('compat_credentials')
        .select(['id', 'secret_hash'])
        .where('tenant_id', '=', stack.tenant.id)
        .where('kind', '=', 'akana-password')
        .executeTakeFirstOrThrow();
    const salt = randomBytes(16).toString('base64url');
    const hash = await new Promise<Buffer>((resolve, reject) => scrypt(akana.password, salt, 32, (err, key) => (err ? reject(err) : resolve(key))));
    await stack.db.updateTable('compat_credentials').set({ secret_hash: `scrypt$${salt}$${hash.toString('base64url')}` }).where('id', '=', (await row()).id).execute();

    const login = await fetch(`${stack.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: akana.email.toUpperCase(), password: akana.password }),
    });
    expect(login.status).toBe(200);
    expect((await row()).secret_hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });
});
