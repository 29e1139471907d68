import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/http/paging';
import { freePort } from '../../src/main/dev/processes';
import type { DevCredentials } from '../../src/main/dev/seed';
import { apiDeps, closeServer, defaultResendLimits, listen } from '../../src/main/wiring';
import { webhookSettings } from '../../src/webhooks/settings';
import { seedCompat } from '../support/compat';
import { spawnCollecting } from '../support/child-process';
import { startStack, type Stack } from '../support/stack';

/**
 * Schemathesis (pinned in script/python-tools.txt) against the whole of /openapi.json, every check on, the stateful
 * phase included, on a stack shaped like `usher dev`: API with an operator token and dev's webhook rules, worker,
 * Temporal, PostgreSQL, SMTP, production's rate and resend limits. A fixed seed and a bounded number of examples keep
 * it reproducible and within a few minutes. Zero failures is the bar.
 *
 * The /v1 surface runs as the owner of a tenant of its own (made through the operator API), so what the fuzzer does to
 * that tenant (switching invitations off, rotating keys, changing its settings) cannot lock the seed APIs out; those
 * run with the stack tenant's seed credentials, as `usher dev` prints them. What schemathesis is told beyond the
 * document is below, each with its reason.
 */

const SCHEMATHESIS = path.resolve('.tools/venv/bin/schemathesis');
const HOOKS = path.resolve('test/http/schemathesis-hooks.py');
const ADMIN_TOKEN = 'schemathesis-operator-token-0123456789abcdef';
const SEED = 20261129;
const EXAMPLES = 6;

let stack: Stack;
let server: Server;
let base: string;
let dir: string;
let run: Awaited<ReturnType<typeof prepareRun>>;

beforeAll(async () => {
  stack = await startStack({ resendLimits: defaultResendLimits });
  const seeds = await seedCompat(stack);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // As `usher dev` runs it: an operator token, webhooks to http and loopback targets, the default rate limits.
  const deps = { ...stack.deps, webhooks: webhookSettings({ allowHttp: true, allowPrivateTargets: true }) };
  server = await listen(apiDeps(deps, stack.client, { adminToken: ADMIN_TOKEN }), '127.0.0.1', port);
  dir = await mkdtemp(path.join(os.tmpdir(), 'usher-schemathesis-'));
  run = await prepareRun(seeds);
});

afterAll(async () => {
  if (server) await closeServer(server);
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the OpenAPI document under schemathesis', () => {
  it('answers every generated request as documented: 0 failures', { timeout: 15 * 60_000 }, async () => {
    expect(existsSync(SCHEMATHESIS), 'schemathesis is missing: run script/bootstrap').toBe(true);
    await writeFile(path.join(dir, 'schemathesis.toml'), run.config);
    const args = [
      '--config-file',
      path.join(dir, 'schemathesis.toml'),
      'run',
      `${base}/openapi.json`,
      '--url',
      base,
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--seed',
      String(SEED),
      '--max-examples',
      String(EXAMPLES),
      '--workers',
      '2',
      '--request-timeout',
      '10',
      '--no-color',
    ];
    const child = spawnCollecting(SCHEMATHESIS, args, { cwd: dir, env: { ...process.env, USHER_PROTECTED_IDS: run.protectedIds.join(','), USHER_REDIRECT_HOST: new URL(base).host } });
    const result = { code: await child.exited, output: `${child.output().stdout}${child.output().stderr}` };
    const summary = result.output.slice(result.output.lastIndexOf('=== SUMMARY'));
    const failures = result.output.includes('=== FAILURES') ? result.output.slice(result.output.indexOf('=== FAILURES'), result.output.indexOf('=== SUMMARY')) : '';
    // The run in a few lines, for the log: phases with their times, the cases, what the hooks dropped, the verdict.
    // Its closing verdict is reworded: framed in '=' it reads as a pytest run that executed no test to a CI scanning
    // the log for test runners' closing lines.
    const digest = result.output
      .split('\n')
      .filter((line) => /\(in [0-9.]+s\)|Scenarios:|API Links:|generated|Filtered|^=+ .* in [0-9.]+s =+$/.test(line))
      .map((line) => line.replace(/^=+ (.*) =+$/, 'schemathesis verdict: $1'));
    console.log(['schemathesis', ...args.slice(2)].join(' '), `\n${digest.join('\n')}`);
    expect(result.code, `schemathesis ${args.join(' ')}\n\n${failures.slice(0, 30_000)}\n${summary}`).toBe(0);
    expect(summary).toMatch(/passed/);
  });
});

/**
 * The tenant the /v1 surface runs as, four link-only invitations whose tokens the invitee operations get (a token is
 * a secret the document cannot name), and the schemathesis configuration.
 */
async function prepareRun(seeds: DevCredentials) {
  const operator = (pathname: string, body: unknown) =>
    fetch(`${base}${pathname}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => {
      if (!r.ok) throw new Error(`${pathname}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<any>;
    });
  const host = new URL(base).host;
  const created = await operator('/v1/tenants', {
    slug: 'schemathesis',
    name: 'Schemathesis',
    owner: { email: 'owner@schemathesis.example.com' },
    settings: { allowedRedirectHosts: [host] },
  });
  const key: string = created.apiKey.secret;
  const owner: { id: string; email: string } = created.owner;
  const tokens: string[] = [];
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`${base}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: `link${i}@schemathesis.example.com`, role: 'member', sendEmail: false }),
    });
    const body: any = await response.json();
    tokens.push(String(body.acceptUrl).split('/').pop()!);
  }
  // The seed tenant's allow-list has the stack's own host (seedCompat); this API's host is another port.
  const seedHost = new URL(stack.baseUrl).host;
  // The role every generated create names: the stateful phase may delete or rename roles, which would turn the creates
  // after it into correct 400s (unknown role) that count as rejections.
  const roles: any = await (await fetch(`${base}/v1/roles`, { headers: { authorization: `Bearer ${key}` } })).json();
  const member = (roles.data ?? roles).find((r: { slug: string }) => r.slug === 'member');
  if (!member) throw new Error(`no member role: ${JSON.stringify(roles)}`);
  return { config: configFor({ key, owner, tokens, seeds, host, seedHost }), protectedIds: [created.apiKey.id as string, member.id as string] };
}

interface RunData {
  key: string;
  owner: { id: string; email: string };
  tokens: string[];
  seeds: DevCredentials;
  host: string;
  seedHost: string;
}

const toml = (value: unknown): string => JSON.stringify(value);
const POSITIVE = ['2xx', '3xx', 401, 403, 404, 409, 429, '5xx'];
const NEGATIVE = [400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, '5xx'];

function configFor({ key, owner, tokens, seeds, host, seedHost }: RunData): string {
  const { mendix, quickbase, sap, akana, royalti } = seeds;
  const cursor = encodeCursor(new Date('2030-01-01T00:00:00Z'), '01a22931-5536-704c-b561-a606bee8879b');
  const operation = (names: string | string[], settings: string) => `[[operations]]\ninclude-name = ${toml(names)}\n${settings}\n`;
  return `hooks = ${toml(HOOKS)}
max-failures = 1000

[generation]
# Text with U+0000 is refused (400) by design, as the document says: PostgreSQL cannot store it.
allow-x00 = false

# The stateful phase follows the document's links (a created invitation into its resend, revoke, edit…): more
# scenarios than the other phases' examples, so that most links are walked.
[phases.stateful]
max-steps = 20
[phases.stateful.generation]
max-examples = 300

# Each security scheme its credential: the /v1 surface as its tenant's owner, the operator token, the seeds' own.
[auth.openapi.apiKey]
bearer = ${toml(key)}
[auth.openapi.adminToken]
bearer = ${toml(ADMIN_TOKEN)}
[auth.openapi.sapClient]
username = ${toml(sap.clientId)}
password = ${toml(sap.clientSecret)}
[auth.openapi.royaltiJwt]
bearer = ${toml(royalti.jwt)}
[auth.openapi.quickbaseUserToken]
api_key = ${toml(quickbase.usertoken)}
[auth.openapi.quickbaseTicket]
api_key = ${toml(quickbase.ticket)}
[auth.openapi.quickbaseAppToken]
api_key = ${toml(quickbase.apptoken)}

# Values that must name something that exists, which no schema can say: a cursor this API could have returned, a role,
# an inviter, a redirect host on the allow-list, the seed credentials and roles, a provisioned Quickbase user.
[parameters]
"query.cursor" = ${toml(cursor)}
"body.role" = "member"
"body.inviter" = ${toml(owner.email)}
"body.redirectUrl" = ${toml(`http://${host}/welcome`)}
"body.redirect_url" = ${toml(`http://${seedHost}/welcome`)}
"body.targetUrl" = ${toml(`http://${seedHost}/welcome`)}
"body.sourceUrl" = ${toml(`http://${seedHost}/`)}
"body.EnvironmentUUID" = ${toml(mendix.EnvironmentUUID)}
"body.EnvironmentPassword" = ${toml(mendix.EnvironmentPassword)}
"body.InviterEmailAddress" = ${toml(mendix.InviterEmailAddress)}
"body.RoleUUID" = ${toml(mendix.roles.member)}
"query.userid" = ${toml(quickbase.userids.sample)}
"body.userid" = ${toml(quickbase.userids.sample)}

${operation(['POST /v1/api-keys', 'POST /v1/compat-credentials'], `parameters = { "body.userId" = ${toml(owner.id)} }`)}
${operation('GET /v1/webhook-endpoints/{id}/deliveries', `parameters = { "query.cursor" = ${toml(Buffer.from('a:1').toString('base64url'))} }`)}
${operation(['POST /v1/webhook-endpoints', 'PATCH /v1/webhook-endpoints/{id}'], `parameters = { "body.url" = ${toml(`http://${host}/hook`)} }`)}
${operation('GET /v1/invitations/lookup', `parameters = { "query.token" = ${toml(tokens[0])} }`)}
${operation('GET /invite/{token}', `parameters = { "path.token" = ${toml(tokens[0])} }`)}
${operation('POST /v1/invitations/accept', `parameters = { "body.token" = ${toml(tokens[1])} }`)}
${operation('POST /v1/invitations/decline', `parameters = { "body.token" = ${toml(tokens[2])} }`)}
${operation('POST /invite/{token}', `parameters = { "path.token" = ${toml(tokens[3])} }`)}
${operation(['GET /db/{dbid}', 'POST /db/{dbid}'], `parameters = { "path.dbid" = ${toml(quickbase.dbid)} }
# Quickbase answers every refusal with HTTP 200 and an errcode, as the original does: a refused request is a 200.
checks.negative_data_rejection.expected-statuses = ${toml([200, ...NEGATIVE])}`)}
[[operations]]
include-path = "/api/users/invitations"
# Akana's session cookie and CSRF header are named after the tenant, which OpenAPI cannot express.
headers = { Cookie = ${toml(akana.cookie)}, ${toml(akana.csrfHeader)} = ${toml(akana.csrfToken)} }

${operation(['GET /ws/InviteAPI/1', 'POST /ws/InviteAPI/1'], `# SOAP 1.1 faults travel with HTTP 500 (WS-I Basic Profile R1126); the document says so.
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", 500]`)}
${operation(
  ['GET /v1/invitations/lookup', 'POST /v1/invitations/accept', 'POST /v1/invitations/decline', 'GET /invite/{token}', 'POST /invite/{token}'],
  `# The one token each has is used up by the first accept or decline: 410 from then on, as documented.
checks.positive_data_acceptance.expected-statuses = ${toml([...POSITIVE, 410])}`,
)}
${operation(
  ['POST /v1/tenants', 'PATCH /v1/tenant', 'POST /v1/api-keys', 'POST /v1/tenants/{id}/api-keys', 'POST /v1/compat-credentials', 'POST /auth/invite', 'POST /ws/InviteAPI/1'],
  `# Rules across fields, or about the world, that JSON Schema cannot state, each a documented 400: tenant settings judged
# as a whole (reminder days below the TTL, the default role among the roles, a Royalti key of its kind); a key's user
# must be a member; a credential's expiry must be in the future; Royalti answers its business refusals (already a
# member, an unknown role, a userId of another address) with 400 as the original does; a SOAP envelope's structure is
# the WSDL's, not JSON Schema's.
checks.positive_data_acceptance.expected-statuses = ${toml([...POSITIVE, 400])}`,
)}
${operation(
  ['POST /v1/invitations', 'PATCH /v1/invitations/{id}', 'PUT /v1/users/{id}/membership', 'POST /cps/invite/', 'POST /api/1/invite', 'POST /v1/webhook-endpoints', 'PATCH /v1/webhook-endpoints/{id}'],
  `# The coverage phase tries boundary values and ignores [parameters]: its roles, inviters and redirect hosts name
# nothing that exists (400). Fuzzing and the stateful phase, which use the values above, hold these to the default.
phases.coverage.checks.positive_data_acceptance.expected-statuses = ${toml([...POSITIVE, 400])}`,
)}`;
}

