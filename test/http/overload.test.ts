import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCredentials } from '../../src/main/dev/seed';
import { seedCompat } from '../support/compat';
import { expectNothingLeftFor } from '../support/nothing-left';
import { body, startStack, type Stack } from '../support/stack';

/**
 * The API's cap on requests in flight (API_MAX_REQUESTS_IN_FLIGHT), here 1: a create whose body is still arriving holds
 * the one place, so what comes next meets a full server every time.
 */
let stack: Stack;
let royalti: DevCredentials['royalti'];
beforeAll(async () => {
  stack = await startStack({ limits: { writesPerMinute: 0, loginsPerMinute: 0, requestsInFlight: 1 } });
  royalti = (await seedCompat(stack)).royalti;
});
afterAll(async () => {
  await stack?.stop();
});

/** A create sent up to its last byte: it is in flight until `finish` sends that byte. */
function heldCreate(email: string): { finish(): Promise<{ status: number; body: any }> } {
  const json = JSON.stringify({ email, role: 'member' });
  const req = request(`${stack.baseUrl}/v1/invitations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.tenant.owner.apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) },
  });
  const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write(json.slice(0, -1));
  return {
    finish() {
      req.end(json.slice(-1));
      return answered;
    },
  };
}

/** Until the held request has its place: a read is turned away (it changes nothing, so asking again is harmless). */
async function untilFull(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await stack.api('/v1/invitations?limit=1')).status !== 503) {
    if (Date.now() > deadline) throw new Error('the held create never took its place');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a full API turns requests away at once, and stores nothing for them', () => {
  it('answers 503 problem+json with Retry-After while full, keeps health answering, and takes the same create once a place is free', async () => {
    const held = heldCreate('held@example.com');
    await untilFull();

    const refused = await stack.api('/v1/invitations', { method: 'POST', json: { email: 'turned-away@example.com', role: 'member' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('1');
    const problem = await body(refused);
    expect(problem.type).toBe('urn:usher:problem:busy');
    expect(problem.detail).toMatch(/at once \(1\); retry in 1 s/);
    // The invitee's side is behind the same cap.
    expect((await stack.api('/v1/invitations/accept', { method: 'POST', json: { token: 'A'.repeat(43) }, key: null })).status).toBe(503);
    // A person who opens their link meanwhile gets a page that says to try again, not a JSON body.
    const page = await fetch(`${stack.baseUrl}/invite/${'A'.repeat(43)}`);
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('retry-after')).toBe('1');
    expect(await page.text()).toMatch(/busy right now.*try again in a moment/is);
    // An orchestrator still sees in: liveness and readiness are never turned away.
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);

    expect((await held.finish()).status).toBe(201);
    await expectNothingLeftFor(stack, 'turned-away@example.com');
    const again = await stack.api('/v1/invitations', { method: 'POST', json: { email: 'turned-away@example.com', role: 'member' } });
    expect(again.status).toBe(201);
  });

  it('turns a seed API call away in the vendor’s own error shape, not problem+json', async () => {
    const held = heldCreate('held-for-royalti@example.com');
    await untilFull();

    const refused = await fetch(royalti.endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${royalti.jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'royalti-turned-away@example.com', role: 'member' }),
    });
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.status).toBe(500);
    expect(await body(refused)).toEqual({ message: expect.stringMatching(/^Internal Server Error: .*retry in 1 s$/) });

    expect((await held.finish()).status).toBe(201);
    await expectNothingLeftFor(stack, 'royalti-turned-away@example.com');
  });

  it('says so in /openapi.json: every operation under /v1 lists the 503, beside any 503 it had, and the accept page a page', async () => {
    const document = await body(await fetch(`${stack.baseUrl}/openapi.json`));
    const missing: string[] = [];
    for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, operation] of Object.entries<any>(item)) {
        if (method === 'parameters') continue;
        const types = operation.responses['503']?.content?.['application/problem+json']?.schema?.allOf?.[1]?.properties?.type?.enum ?? [];
        if (!types.includes('urn:usher:problem:busy')) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(missing).toEqual([]);
    const create = document.paths['/v1/invitations'].post.responses['503'];
    expect(create.content['application/problem+json'].schema.allOf[1].properties.type.enum).toEqual(['urn:usher:problem:temporal-unavailable', 'urn:usher:problem:busy']);
    expect(create.headers['Retry-After']).toBeDefined();
    for (const operation of Object.values<any>(document.paths['/invite/{token}']).filter((item) => item.responses)) {
      expect(Object.keys(operation.responses['503'].content)).toEqual(['text/html']);
      expect(operation.responses['503'].description).toMatch(/urn:usher:problem:busy/);
    }
  });
});
