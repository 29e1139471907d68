import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/log';
import { apiDeps, closeServer, listen } from '../../src/main/wiring';
import { freePort } from '../../src/main/dev/processes';
import { sentTo } from '../support/mail';
import { body, startStack, type Stack } from '../support/stack';
import { addMember } from '../support/tenants';

/** Every log line the stack writes, at debug level, to look for secrets in. */
const lines: string[] = [];
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ log: createLogger('debug', {}, (line) => lines.push(line)), limits: { writesPerMinute: 5, loginsPerMinute: 0 } });
});
afterAll(async () => {
  await stack?.stop();
});

const expectProblem = async (response: Response, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = await body(response);
  expect(problem.type).toBe(`urn:usher:problem:${code}`);
  return problem;
};

describe('hardening of the HTTP surface', () => {
  it('answers nosniff and no Referer everywhere, and a strict policy on every HTML page', async () => {
    const json = await fetch(`${stack.baseUrl}/healthz`);
    expect(json.headers.get('x-content-type-options')).toBe('nosniff');
    expect(json.headers.get('referrer-policy')).toBe('no-referrer');
    const notFound = await fetch(`${stack.baseUrl}/no/such/route`);
    expect(notFound.headers.get('x-content-type-options')).toBe('nosniff');

    const badLink = await fetch(`${stack.baseUrl}/invite/${'A'.repeat(43)}`);
    expect(badLink.status).toBe(404);
    expect(badLink.headers.get('content-type')).toMatch(/^text\/html/);
    expect(badLink.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(badLink.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(badLink.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a crafted cursor with 400, not a database error', async () => {
    const crafted = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', "x' or 1=1 --"])).toString('base64url');
    const problem = await expectProblem(await stack.api(`/v1/invitations?cursor=${crafted}`), 400, 'invalid-request');
    expect(problem.detail).toMatch(/cursor/);
    await expectProblem(await stack.api(`/v1/invitations?cursor=${Buffer.from('[1,2]').toString('base64url')}`), 400, 'invalid-request');
  });

  it('limits writes per API key with 429 and Retry-After, and leaves reads alone', async () => {
    const outcomes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await stack.api('/v1/invitations', { method: 'POST', json: { email: `limited-${i}@example.com`, role: 'member', sendEmail: false } });
      outcomes.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        await expectProblem(response, 429, 'rate-limited');
      } else {
        await response.arrayBuffer();
      }
    }
    expect(outcomes).toEqual([201, 201, 201, 201, 201, 429]);
    expect((await stack.api('/v1/invitations')).status).toBe(200);
  });

  it('says which dependency is not ready, never its error text', async () => {
    const port = await freePort();
    const deps = apiDeps(stack.deps, stack.client);
    const server = await listen(
      { ...deps, readiness: { ...deps.readiness, database: () => Promise.reject(new Error('password authentication failed for user "usher" at 10.0.0.5')) } },
      '127.0.0.1',
      port,
    );
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ status: 'not ready', checks: { database: 'unavailable', temporal: 'ok' } });
      expect(text).not.toMatch(/password|10\.0\.0\.5/);
    } finally {
      await closeServer(server);
    }
  });

  it('never writes a link token or an API key into a log line', async () => {
    // The write limit of the test above holds the owner's key for a while; a second member invites here.
    const member = await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.admin, email: 'logger-admin@example.com' });
    const created = await stack.api('/v1/invitations', { method: 'POST', key: member.apiKey, json: { email: 'logged@example.com', role: 'member' } });
    expect(created.status).toBe(201);
    const email = await stack.mail.waitFor(sentTo('logged@example.com'));
    const link = email.acceptLink!;
    const token = link.split('/').at(-1)!;
    await fetch(link);
    await fetch(`${stack.baseUrl}/v1/invitations/lookup?token=${token}`);
    await fetch(link, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' });
    await fetch(`${stack.baseUrl}/invite/${token}x`);

    expect(lines.length).toBeGreaterThan(5);
    const all = lines.join('');
    expect(all).toContain('/invite/:token');
    expect(all).not.toContain(token);
    expect(all).not.toContain(stack.tenant.owner.apiKey);
    expect(all).not.toContain(member.apiKey);
  });
});
