import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AKANA_MEDIA_TYPES } from '../../src/compat/akana/request';
import { quickbaseErrors } from '../../src/compat/quickbase/errors';
import { problems } from '../../src/lib/errors';
import type { DevCredentials } from '../../src/main/dev/seed';
import { seedCompat } from '../support/compat';
import { startStack, type Stack } from '../support/stack';
import { brokenJson, deepJson, FUZZ_CASES, FUZZ_SEED, jsonValue, mutate, nastyString, objectOf, type Random, random } from './generate';

/**
 * The seed APIs over HTTP under hostile input, on the real stack: every answer is in the vendor's own shape (never
 * problem+json), with a status the vendor uses, and never an unexpected error. Quickbase always answers <qdbapi> XML
 * with HTTP 200 and an errcode; the others answer their JSON refusals (or SOAP faults) with 4xx.
 *
 * Each request comes from a seeded generator (FUZZ_SEED, FUZZ_CASES to vary them); a violation names its case. Known
 * bugs of the adapters, when there are any, are listed in KNOWN and asserted apart with `it.fails`, so that the rest
 * still counts.
 */

let stack: Stack;
let seeds: DevCredentials;

beforeAll(async () => {
  stack = await startStack();
  seeds = await seedCompat(stack);
});
afterAll(async () => {
  await stack?.stop();
});

interface Sent {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}
interface Answer {
  status: number;
  type: string;
  text: string;
  headers: Headers;
}
type Check = (answer: Answer, sent: Sent) => string | undefined;

async function send(sent: Sent): Promise<Answer> {
  const response = await fetch(`${stack.baseUrl}${sent.path}`, { method: sent.method, headers: sent.headers, body: sent.body, redirect: 'manual' });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text(), headers: response.headers };
}

/** Violations of `check` over `cases`, each as "label: what", with what was sent. */
async function violations(cases: Sent[], check: Check): Promise<{ sent: Sent; answer: Answer; problem: string }[]> {
  const found: { sent: Sent; answer: Answer; problem: string }[] = [];
  for (const sent of cases) {
    const answer = await send(sent);
    const problem = check(answer, sent);
    if (problem) found.push({ sent, answer, problem });
  }
  return found;
}

const describeAll = (found: { sent: Sent; answer: Answer; problem: string }[]) =>
  found.map(({ sent, answer, problem }) => `${sent.label}: ${problem} — ${sent.method} ${sent.path} ${preview(sent.body)} → ${answer.status} ${answer.text.slice(0, 200)}`);
const preview = (body: Sent['body']) => (body === undefined ? '' : JSON.stringify(String(body).slice(0, 120)));

/**
 * Known bugs of the seed adapters, as predicates on the violation: a violation one of these explains is reported by
 * its own `it.fails` test, not by the property tests. None at present: the last ones (text PostgreSQL cannot store,
 * XML nested past the call stack) are fixed, and their tests below now guard the fixes.
 */
const KNOWN: Record<string, (sent: Sent, answer: Answer) => boolean> = {};
const isKnown = (sent: Sent, answer: Answer) => Object.values(KNOWN).some((known) => known(sent, answer));

// ---------------------------------------------------------------------------------------------------------------
// Request bodies

/** A body for a JSON endpoint: the valid shape with hostile values, broken JSON, other JSON, deep, huge, empty, bytes. */
function jsonBodies(r: Random, fields: readonly string[], valid: () => Record<string, unknown>, count: number): { label: string; body: string | Buffer; type: string }[] {
  const out: { label: string; body: string | Buffer; type: string }[] = [];
  const json = 'application/json';
  for (let i = 0; i < count; i++) {
    const label = `seed ${FUZZ_SEED} case ${i}`;
    const base = JSON.stringify(valid());
    const kind = r.int(0, 9);
    if (kind <= 3) out.push({ label: `${label} (hostile values)`, body: JSON.stringify(objectOf(r, fields, valid())), type: json });
    else if (kind === 4) out.push({ label: `${label} (broken JSON)`, body: brokenJson(r, base), type: json });
    else if (kind === 5) out.push({ label: `${label} (any JSON)`, body: JSON.stringify(jsonValue(r, 3)) ?? 'null', type: json });
    else if (kind === 6) out.push({ label: `${label} (media type)`, body: base, type: r.pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', '*/*', 'application/json;;', 'garbage']) });
    else if (kind === 7) out.push({ label: `${label} (bytes)`, body: Buffer.concat([Buffer.from(base.slice(0, -1)), r.bytes(r.int(1, 16)), Buffer.from('}')]), type: json });
    else if (kind === 8) out.push({ label: `${label} (NUL/surrogate)`, body: base.replace(/"([^"]*)"(,|})$/, `"$1${r.pick(['\\u0000', '\\ud800', '\\udfff'])}"$2`), type: json });
    else out.push({ label: `${label} (unknown fields)`, body: JSON.stringify({ ...valid(), [nastyString(r, 10)]: jsonValue(r, 2) }), type: json });
  }
  out.push(
    { label: 'deep JSON array', body: deepJson(200_000), type: json },
    { label: 'deep JSON object', body: deepJson(100_000, 'object'), type: json },
    { label: 'huge JSON (over 1 MB)', body: JSON.stringify({ ...valid(), pad: 'x'.repeat(1_100_000) }), type: json },
    { label: 'empty body', body: '', type: json },
    { label: 'JSON null', body: 'null', type: json },
    { label: 'JSON array', body: '[]', type: json },
    { label: 'invalid UTF-8', body: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0xff, 0x7d]), type: json },
  );
  return out;
}

/** Percent-encoding that takes any string, unpaired surrogates too (as the UTF-8 bytes a client would send). */
const pct = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

let counter = 0;
const fresh = () => `fuzz${++counter}-${Date.now().toString(36)}@example.com`;

// ---------------------------------------------------------------------------------------------------------------
// Vendor shapes

const problemCodes = new Set(Object.keys(problems));
const isJson = (answer: Answer) => /^application\/json/.test(answer.type);

function jsonBodyOf(answer: Answer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(answer.text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const onlyKeys = (body: Record<string, unknown>, allowed: string[]) => Object.keys(body).filter((k) => !allowed.includes(k));

/** Mendix: 204, or {code, message, field?, requestId} with the code's status. */
const mendixShape: Check = (answer) => {
  if (answer.status === 204) return undefined;
  if (answer.status >= 500) return `status ${answer.status}`;
  const body = jsonBodyOf(answer);
  if (!isJson(answer) || !body) return `not a JSON object (${answer.type})`;
  const extra = onlyKeys(body, ['code', 'message', 'field', 'requestId']);
  if (extra.length) return `members ${extra}`;
  if (!problemCodes.has(String(body.code)) || problems[body.code as keyof typeof problems].status !== answer.status) return `code ${String(body.code)} with status ${answer.status}`;
  if (typeof body.message !== 'string' || typeof body.requestId !== 'string') return 'message or requestId missing';
  return undefined;
};

/** SAP: 201 {id, status}, or {status, code, message, field?, invitationId?, requestId} with that status. */
const sapShape: Check = (answer) => {
  if (answer.status >= 500) return `status ${answer.status}`;
  const body = jsonBodyOf(answer);
  if (!isJson(answer) || !body) return `not a JSON object (${answer.type})`;
  if (answer.status === 201) return body.status === 'pending' && typeof body.id === 'string' ? undefined : 'a 201 without id and status';
  const extra = onlyKeys(body, ['status', 'code', 'message', 'field', 'invitationId', 'requestId']);
  if (extra.length) return `members ${extra}`;
  if (body.status !== answer.status || !problemCodes.has(String(body.code))) return `status ${String(body.status)} / code ${String(body.code)} under HTTP ${answer.status}`;
  if (typeof body.message !== 'string' || typeof body.requestId !== 'string') return 'message or requestId missing';
  return undefined;
};

/** Akana: 200 with the invited addresses (a JSON array), or {code: the status, message, InvalidEmailAddresses?}. */
const akanaShape: Check = (answer) => {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (answer.status === 200) {
    if (!(AKANA_MEDIA_TYPES as readonly string[]).includes(answer.type.split(';')[0]!)) return `200 as ${answer.type}`;
    return undefined;
  }
  const body = jsonBodyOf(answer);
  if (!isJson(answer) || !body) return `not a JSON object (${answer.type})`;
  const extra = onlyKeys(body, ['code', 'message', 'InvalidEmailAddresses']);
  if (extra.length) return `members ${extra}`;
  if (body.code !== answer.status || typeof body.message !== 'string') return `code ${String(body.code)} under HTTP ${answer.status}`;
  if (![400, 401, 404, 405, 406, 415, 429].includes(answer.status)) return `status ${answer.status} Akana does not use`;
  return undefined;
};

/** Royalti: 201 {message, acceptUrl?}, or {message} with 400, 401, 404 or 405. */
const royaltiShape: Check = (answer) => {
  const body = jsonBodyOf(answer);
  if (!isJson(answer) || !body) return `not a JSON object (${answer.type})`;
  const extra = onlyKeys(body, answer.status === 201 ? ['message', 'acceptUrl'] : ['message']);
  if (extra.length) return `members ${extra}`;
  if (typeof body.message !== 'string') return 'no message';
  if (![201, 400, 401, 404, 405].includes(answer.status)) return `status ${answer.status}`;
  return undefined;
};

const QDBAPI = /^<\?xml version="1\.0" \?>\n<qdbapi>\n(?: {3}<([a-z]+)>[^<]*<\/\1>\n)+<\/qdbapi>\n$/;

/** Quickbase: HTTP 200, text/xml, <qdbapi> with action, errcode and its errtext; never errcode 1 (unforeseen). */
const quickbaseShape: Check = (answer) => {
  if (answer.status !== 200) return `status ${answer.status}`;
  if (!/^text\/xml/.test(answer.type)) return `type ${answer.type}`;
  if (!QDBAPI.test(answer.text)) return 'not the <qdbapi> shape';
  const errcode = Number(/<errcode>(\d+)<\/errcode>/.exec(answer.text)?.[1]);
  const errtext = /<errtext>([^<]*)<\/errtext>/.exec(answer.text)?.[1];
  if (!(errcode in quickbaseErrors)) return `errcode ${errcode}`;
  if (errtext !== quickbaseErrors[errcode as keyof typeof quickbaseErrors].replace(/&/g, '&amp;')) return `errtext ${errtext} for ${errcode}`;
  if (errcode === 1) return 'errcode 1 (an unforeseen error)';
  return undefined;
};

/** Mendix SOAP: a SendInviteResponse, or a SOAP fault whose InviteFault is a refusal (not an unexpected error). */
const soapShape: Check = (answer) => {
  if (!/^(text\/xml|application\/soap\+xml)/.test(answer.type)) return `type ${answer.type}`;
  if (answer.status === 200) return /SendInviteResponse/.test(answer.text) ? undefined : 'a 200 without SendInviteResponse';
  if (![400, 500].includes(answer.status)) return `status ${answer.status}`;
  if (!/<soap:Fault>/.test(answer.text)) return 'no Fault';
  const code = /<tns:code>([^<]*)<\/tns:code>/.exec(answer.text)?.[1];
  if (!code || !problemCodes.has(code) || code === 'internal') return `fault code ${code}`;
  return undefined;
};

// ---------------------------------------------------------------------------------------------------------------
// The properties

const cases = FUZZ_CASES || 60;

/** Runs the cases, splits known bugs from the rest, and expects nothing else. */
async function expectOnly(cases: Sent[], check: Check) {
  const found = await violations(cases, check);
  const unexplained = found.filter(({ sent, answer }) => !isKnown(sent, answer));
  const known = found.filter(({ sent, answer }) => isKnown(sent, answer));
  if (known.length > 0) console.log(`${known.length} of ${cases.length} answers show a known bug (see the it.fails tests):\n${describeAll(known).join('\n')}`);
  expect(describeAll(unexplained)).toEqual([]);
  return found;
}

describe('seed APIs under hostile input', () => {
  it('Mendix SendInvite (JSON and form) answers every request in its own shape', { timeout: 180_000 }, async () => {
    const r = random(FUZZ_SEED);
    const m = seeds.mendix;
    const valid = () => ({ EnvironmentUUID: m.EnvironmentUUID, EnvironmentPassword: m.EnvironmentPassword, InviteeEmailAddress: fresh(), InviterEmailAddress: m.InviterEmailAddress, RoleUUID: m.roles.member });
    const fields = Object.keys(valid());
    const sent: Sent[] = jsonBodies(r, fields, valid, cases).map(({ label, body, type }) => ({ label, method: 'POST', path: '/api/1/invite', headers: { 'content-type': type }, body }));
    for (let i = 0; i < cases / 2; i++) {
      const form = Object.entries(objectOf(r, fields, valid())).map(([k, v]) => `${pct(k)}=${pct(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`);
      const raw = r.chance(0.3) ? mutate(r, form.join('&'), ['%', '%zz', '%00', '&', '=', '+', '%C3', '%ED%A0%80']) : form.join('&');
      sent.push({ label: `seed ${FUZZ_SEED} form ${i}`, method: 'POST', path: '/api/1/invite', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: raw });
    }
    await expectOnly(sent, mendixShape);
  });

  it('SAP answers every request in its own shape', { timeout: 180_000 }, async () => {
    const r = random(FUZZ_SEED + 1);
    const auth = `Basic ${Buffer.from(`${seeds.sap.clientId}:${seeds.sap.clientSecret}`).toString('base64')}`;
    const valid = () => ({ inviteeEmail: fresh(), inviterName: 'Fuzz', targetUrl: `${stack.baseUrl}/welcome`, language: 'en' });
    const fields = ['inviteeEmail', 'inviteeUserId', 'inviterName', 'targetUrl', 'sourceUrl', 'inviteeFirstName', 'inviteeLastName', 'headerText', 'footerText', 'language'];
    const sent: Sent[] = jsonBodies(r, fields, valid, cases).map(({ label, body, type }) => ({ label, method: 'POST', path: '/cps/invite/', headers: { 'content-type': type, authorization: auth }, body }));
    for (const authorization of ['Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from(':').toString('base64')}`, `Basic ${Buffer.from('a\u0000:b').toString('base64')}`, 'Bearer x', `Basic ${'A'.repeat(10_000)}`]) {
      sent.push({ label: `authorization ${authorization.slice(0, 20)}`, method: 'POST', path: '/cps/invite/', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(valid()) });
    }
    await expectOnly(sent, sapShape);
  });

  it('Akana (login and invitations) answers every request in its own shape', { timeout: 180_000 }, async () => {
    const r = random(FUZZ_SEED + 2);
    const a = seeds.akana;
    const session = { cookie: a.cookie, [a.csrfHeader]: a.csrfToken };
    const valid = () => ({ EmailAddresses: [fresh()], Message: 'Join us' });
    const sent: Sent[] = jsonBodies(r, ['EmailAddresses', 'Message'], valid, cases).map(({ label, body, type }) => ({
      label,
      method: 'POST',
      path: '/api/users/invitations',
      headers: { 'content-type': type === 'application/json' ? r.pick(AKANA_MEDIA_TYPES) : type, accept: r.pick(['*/*', ...AKANA_MEDIA_TYPES, 'text/html', 'application/vnd.soa.v99+json', '']), ...session },
      body,
    }));
    for (const { label, body, type } of jsonBodies(r, ['email', 'password'], () => ({ email: a.email, password: nastyString(r) }), cases / 2)) {
      sent.push({ label: `login ${label}`, method: 'POST', path: '/api/login', headers: { 'content-type': type }, body });
    }
    for (const cookie of ['', 'AtmoAuthToken_=x', `AtmoAuthToken_${a.tenant}="unterminated`, `AtmoAuthToken_${a.tenant}=%E0%A4%A`, 'a=b; '.repeat(500)]) {
      sent.push({ label: `cookie ${cookie.slice(0, 20)}`, method: 'POST', path: '/api/users/invitations', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(valid()) });
    }
    await expectOnly(sent, akanaShape);
  });

  it('Royalti answers every request in its own shape', { timeout: 180_000 }, async () => {
    const r = random(FUZZ_SEED + 3);
    const ro = seeds.royalti;
    const valid = () => ({ email: fresh(), sendEmail: false, role: 'member' });
    const fields = ['email', 'sendEmail', 'message', 'firstName', 'lastName', 'redirect_url', 'role'];
    const sent: Sent[] = jsonBodies(r, fields, valid, cases).map(({ label, body, type }) => ({
      label,
      method: 'POST',
      path: `/auth/invite?${r.pick([`workspaceId=${ro.workspaceId}`, '', `workspaceId=${ro.workspaceId}&workspaceId=x`, `workspaceId=${pct(nastyString(r))}`, `userId=${pct(nastyString(r))}`])}`,
      headers: { 'content-type': type, authorization: `Bearer ${ro.jwt}` },
      body,
    }));
    for (const token of ['', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `${ro.jwt}x`, ro.jwt.split('.').reverse().join('.'), 'x'.repeat(10_000)]) {
      sent.push({ label: `token ${token.slice(0, 16)}`, method: 'POST', path: `/auth/invite?workspaceId=${ro.workspaceId}`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(valid()) });
    }
    await expectOnly(sent, royaltiShape);
  });

  it('Quickbase answers every request, XML or form, with well-formed <qdbapi> XML and HTTP 200', { timeout: 180_000 }, async () => {
    const r = random(FUZZ_SEED + 4);
    const q = seeds.quickbase;
    const valid = `<?xml version="1.0" encoding="UTF-8"?>\n<qdbapi>\n   <usertoken>${q.usertoken}</usertoken>\n   <userid>${q.userids.sample}</userid>\n   <usertext>Welcome &amp; hello</usertext>\n   <udata>fuzz</udata>\n</qdbapi>`;
    const markup = ['<', '>', '</', '/>', '&', '&amp;', '&#0;', '<!--', '<![CDATA[', ']]>', '<?', '<!DOCTYPE qdbapi>', '"', '\u0000', '\uFFFE', 'é', '<userid>', '</usertext>'];
    const path = `/db/${q.dbid}?a=API_SendInvitation`;
    const sent: Sent[] = [];
    for (let i = 0; i < cases; i++) {
      const label = `seed ${FUZZ_SEED + 4} case ${i}`;
      const kind = r.int(0, 4);
      if (kind <= 1) sent.push({ label, method: 'POST', path, headers: { 'content-type': r.pick(['application/xml', 'text/xml', 'text/xml; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain']) }, body: mutate(r, valid, markup) });
      else if (kind === 2) sent.push({ label: `${label} (bytes)`, method: 'POST', path, headers: { 'content-type': r.pick(['application/xml', 'text/xml; charset=iso-8859-1', 'text/xml; charset=utf-16', 'text/xml; charset=bogus']) }, body: Buffer.concat([Buffer.from(valid.slice(0, r.int(0, valid.length))), r.bytes(r.int(1, 32))]) });
      else if (kind === 3) sent.push({ label: `${label} (form)`, method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: mutate(r, `usertoken=${q.usertoken}&userid=${q.userids.sample}&usertext=hi`, ['%', '%zz', '%00', '&', '=', '+', '<']) });
      else sent.push({ label: `${label} (query)`, method: 'GET', path: `${path}&usertoken=${q.usertoken}&userid=${pct(nastyString(r))}&udata=${pct(nastyString(r))}&hours=${pct(nastyString(r, 4))}`, headers: {} });
    }
    const laughs = `<?xml version="1.0"?><!DOCTYPE qdbapi [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 8 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i ? 'b'.repeat(i) : 'a'};`.repeat(10)}">`).join('')}]><qdbapi><usertext>&bbbbbbbb;</usertext></qdbapi>`;
    for (const [label, body, type] of [
      ['billion laughs', laughs, 'application/xml'],
      ['XXE', '<?xml version="1.0"?><!DOCTYPE qdbapi [<!ENTITY x SYSTEM "file:///etc/passwd">]><qdbapi><usertext>&x;</usertext></qdbapi>', 'application/xml'],
      ['deep XML', `<qdbapi>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</qdbapi>`, 'application/xml'],
      ['huge XML (over 1 MB)', `<qdbapi><usertext>${'x'.repeat(1_100_000)}</usertext></qdbapi>`, 'application/xml'],
      ['many parameters', `<qdbapi>${'<udata>1</udata>'.repeat(50_000)}</qdbapi>`, 'application/xml'],
      ['UTF-16 declared', '<?xml version="1.0" encoding="UTF-16"?><qdbapi/>', 'application/xml'],
      ['EBCDIC charset', '<qdbapi/>', 'text/xml; charset=ebcdic-cp-us'],
      ['UTF-16 bytes', Buffer.from('\ufeff<qdbapi/>', 'utf16le'), 'application/xml'],
      ['invalid UTF-8', Buffer.from([0x3c, 0x71, 0x64, 0x62, 0x61, 0x70, 0x69, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x71, 0x64, 0x62, 0x61, 0x70, 0x69, 0x3e]), 'application/xml'],
      ['processing instruction', '<?php echo 1; ?><qdbapi/>', 'application/xml'],
      ['empty', '', 'application/xml'],
    ] as const) {
      sent.push({ label, method: 'POST', path, headers: { 'content-type': type }, body });
    }
    await expectOnly(sent, quickbaseShape);
  });

  it('the Mendix SOAP endpoint answers every request with a SOAP response or fault, never an unexpected error', { timeout: 180_000 }, async () => {
    const r = random(FUZZ_SEED + 5);
    const m = seeds.mendix;
    const envelope = (version: '1.1' | '1.2') =>
      `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${version === '1.1' ? 'http://schemas.xmlsoap.org/soap/envelope/' : 'http://www.w3.org/2003/05/soap-envelope'}"><soap:Body><SendInvite xmlns="urn:usher:mendix:InviteAPI:1"><EnvironmentUUID>${m.EnvironmentUUID}</EnvironmentUUID><EnvironmentPassword>${m.EnvironmentPassword}</EnvironmentPassword><InviteeEmailAddress>${fresh()}</InviteeEmailAddress><InviterEmailAddress>${m.InviterEmailAddress}</InviterEmailAddress><RoleUUID>${m.roles.member}</RoleUUID></SendInvite></soap:Body></soap:Envelope>`;
    const markup = ['<', '>', '</', '/>', '&', '&amp;', '<!--', '<![CDATA[', '<!DOCTYPE x>', '\u0000', 'soap:', 'xmlns="x"', ' soap:mustUnderstand="1"'];
    const sent: Sent[] = [];
    for (let i = 0; i < cases; i++) {
      const version = r.pick(['1.1', '1.2'] as const);
      sent.push({
        label: `seed ${FUZZ_SEED + 5} case ${i}`,
        method: 'POST',
        path: '/ws/InviteAPI/1',
        headers: { 'content-type': version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8' },
        body: r.chance(0.8) ? mutate(r, envelope(version), markup) : r.bytes(r.int(0, 100)),
      });
    }
    sent.push(
      // Within the 64 KiB a SOAP request may have, and deeper than the call stack.
      { label: 'deep XML', method: 'POST', path: '/ws/InviteAPI/1', headers: { 'content-type': 'text/xml' }, body: `<a>${'<a>'.repeat(8000)}${'</a>'.repeat(8000)}</a>` },
      { label: 'billion laughs', method: 'POST', path: '/ws/InviteAPI/1', headers: { 'content-type': 'text/xml' }, body: '<!DOCTYPE a [<!ENTITY a "a">]><a>&a;</a>' },
      { label: 'over the SOAP limit', method: 'POST', path: '/ws/InviteAPI/1', headers: { 'content-type': 'text/xml' }, body: `<a>${'x'.repeat(70_000)}</a>` },
    );
    await expectOnly(sent, soapShape);
  });
});

describe('fixed bugs of the seed adapters stay fixed', () => {
  // Each was pinned here with `it.fails` until src/compat fixed it. Text PostgreSQL cannot store (U+0000, unpaired
  // surrogates) is refused before any lookup, as each vendor refuses invalid input (src/compat/body.ts, adapter.ts);
  // the shared XML parser refuses nesting past MAX_XML_DEPTH (src/compat/xml.ts).

  it('Mendix: a credential with U+0000 is refused as invalid input (was: 500 "internal" from the credential lookup)', async () => {
    const answer = await send({
      label: 'nul',
      method: 'POST',
      path: '/api/1/invite',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...seeds.mendix, EnvironmentUUID: 'a\u0000b', InviteeEmailAddress: 'x@example.com', RoleUUID: seeds.mendix.roles.member }),
    });
    expect(mendixShape(answer, {} as Sent)).toBeUndefined();
    expect(answer.status).toBe(400);
    expect(jsonBodyOf(answer)).toMatchObject({ code: 'invalid-request', field: 'EnvironmentUUID' });
    const form = await send({ label: 'nul', method: 'POST', path: '/api/1/invite', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'EnvironmentUUID=a%00b&EnvironmentPassword=x' });
    expect(mendixShape(form, {} as Sent)).toBeUndefined();
    expect(form.status).toBe(400);
  });

  it('SAP: a client id with U+0000 is refused as not valid (was: 500 from the credential lookup)', async () => {
    const authorization = `Basic ${Buffer.from('a\u0000:b').toString('base64')}`;
    const answer = await send({ label: 'nul', method: 'POST', path: '/cps/invite/', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ inviteeEmail: 'x@example.com', inviterName: 'X' }) });
    expect(sapShape(answer, {} as Sent)).toBeUndefined();
    // As every other malformed Basic credential: SAP's 401 (RFC 7617 forbids control characters in either part).
    expect(answer.status).toBe(401);
  });

  it('SAP: a field with U+0000 or an unpaired surrogate is refused with 400 (was: stored, or 500)', async () => {
    const authorization = `Basic ${Buffer.from(`${seeds.sap.clientId}:${seeds.sap.clientSecret}`).toString('base64')}`;
    for (const inviterName of ['X\u0000', 'X\ud800']) {
      const answer = await send({ label: 'nul', method: 'POST', path: '/cps/invite/', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ inviteeEmail: 'nul.sap@example.com', inviterName }) });
      expect(sapShape(answer, {} as Sent)).toBeUndefined();
      expect(jsonBodyOf(answer)).toMatchObject({ status: 400, code: 'invalid-request', field: 'inviterName' });
    }
  });

  it('Akana: a login whose email holds U+0000 is refused as not valid (was: 500 from the credential lookup)', async () => {
    const answer = await send({ label: 'nul', method: 'POST', path: '/api/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a\u0000@example.com', password: 'p' }) });
    expect(akanaShape(answer, {} as Sent)).toBeUndefined();
    expect(answer.status).toBe(400);
  });

  it('Akana: a Message with U+0000 is refused with 400 (was: 500 when the invitation is stored)', async () => {
    const a = seeds.akana;
    const answer = await send({
      label: 'nul',
      method: 'POST',
      path: '/api/users/invitations',
      headers: { 'content-type': 'application/json', cookie: a.cookie, [a.csrfHeader]: a.csrfToken },
      body: JSON.stringify({ EmailAddresses: ['nul.message@example.com'], Message: 'Join us\u0000' }),
    });
    expect(akanaShape(answer, {} as Sent)).toBeUndefined();
    expect(answer.status).toBe(400);
  });

  // The workspaceId once expected 404 here; it is 400: text no workspace id can hold is invalid input (Royalti's 400,
  // "a field of the wrong type" in docs/compat/royalti.md), refused like any other before anything is looked up.
  it('Royalti: a role, workspaceId or token claim with U+0000 is refused (was: 500 from the lookup)', async () => {
    const ro = seeds.royalti;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ro.jwt}` };
    const role = await send({ label: 'nul', method: 'POST', path: `/auth/invite?workspaceId=${ro.workspaceId}`, headers, body: JSON.stringify({ email: 'nul.role@example.com', role: 'member\u0000' }) });
    expect(royaltiShape(role, {} as Sent)).toBeUndefined();
    expect(role.status).toBe(400);
    const workspace = await send({ label: 'nul', method: 'POST', path: '/auth/invite?workspaceId=a%00b', headers, body: JSON.stringify({ email: 'nul.workspace@example.com' }) });
    expect(royaltiShape(workspace, {} as Sent)).toBeUndefined();
    expect(workspace.status).toBe(400);
    // The workspace from an (unverified) token's claim is looked up too: such a token is not valid.
    const claims = Buffer.from(JSON.stringify({ workspaceId: 'a\u0000b', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const token = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${claims}.c2ln`;
    const claim = await send({ label: 'nul', method: 'POST', path: '/auth/invite', headers: { ...headers, authorization: `Bearer ${token}` }, body: JSON.stringify({ email: 'nul.claim@example.com' }) });
    expect(royaltiShape(claim, {} as Sent)).toBeUndefined();
    expect(claim.status).toBe(401);
  });

  // This once expected errcode 21 (Unknown user). A userid holding U+0000 is an invalid parameter, refused before any
  // lookup as every Quickbase parameter that holds such text is: errcode 2, Invalid input, Quickbase's code for invalid
  // parameters (docs/compat/quickbase.md), as U+0000 is a 400 in the native API.
  it('Quickbase: a parameter with U+0000 is errcode 2, Invalid input, not 1 (was: the lookup failed in PostgreSQL)', async () => {
    const q = seeds.quickbase;
    for (const [method, path, body] of [
      ['GET', `/db/${q.dbid}?a=API_SendInvitation&usertoken=${q.usertoken}&userid=a%00b`, undefined],
      ['POST', `/db/${q.dbid}?a=API_SendInvitation`, `usertoken=${q.usertoken}&userid=a%00b`],
      ['GET', `/db/a%00b?a=API_SendInvitation&usertoken=${q.usertoken}&userid=x`, undefined],
    ] as const) {
      const answer = await send({ label: 'nul', method, path, headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}, body });
      expect(quickbaseShape(answer, {} as Sent), path).toBeUndefined();
      expect(answer.text, path).toContain('<errcode>2</errcode>');
    }
  });

  it('Quickbase: XML nested 100,000 deep (700 KB) is errcode 11, not 1 (was: the parser overflowed the stack)', async () => {
    const answer = await send({
      label: 'deep',
      method: 'POST',
      path: `/db/${seeds.quickbase.dbid}?a=API_SendInvitation`,
      headers: { 'content-type': 'application/xml' },
      body: `<qdbapi>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</qdbapi>`,
    });
    expect(quickbaseShape(answer, {} as Sent)).toBeUndefined();
    expect(answer.text).toContain('<errcode>11</errcode>');
  });

  it('Mendix SOAP: XML nested 8,000 deep (56 KiB) is a Client fault, not "internal" (was: the parser overflowed the stack)', async () => {
    const answer = await send({ label: 'deep', method: 'POST', path: '/ws/InviteAPI/1', headers: { 'content-type': 'text/xml' }, body: `<a>${'<a>'.repeat(8000)}${'</a>'.repeat(8000)}</a>` });
    expect(soapShape(answer, {} as Sent)).toBeUndefined();
    expect(answer.text).toContain('<faultcode>soap:Client</faultcode>');
    expect(answer.text).toContain('<tns:code>invalid-request</tns:code>');
  });

  it('Mendix SOAP: a method the endpoint does not answer is 405 with Allow and no SOAP fault (was: a SOAP 1.1 fault with HTTP 500)', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const answer = await send({ label: method, method, path: '/ws/InviteAPI/1', headers: {} });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, POST');
      // WS-I Basic Profile 1.1: a 4xx carries no SOAP Fault; the refusal is Mendix's JSON one, as on /api/1/invite.
      expect(mendixShape(answer, {} as Sent), method).toBeUndefined();
      expect(jsonBodyOf(answer), method).toMatchObject({ code: 'method-not-allowed' });
    }
  });
});
