import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { afterAll, beforeAll, expect } from 'vitest';
import { freePort } from '../../src/main/dev/processes';
import { apiDeps, closeServer, listen } from '../../src/main/wiring';
import { startStack, type Stack } from './stack';

/**
 * What the management tests share: a stack, and over its database and Temporal a second API that has an operator
 * token (the stack's own has none). Call useManagementApi() once at the top of a test file; `stack` is set before its
 * tests run (an ES module binding, so importers see it).
 */

export const ADMIN_TOKEN = 'an-admin-token-of-24-chars-or-more';
export const DAY_MS = 24 * 60 * 60 * 1000;

export let stack: Stack;
let server: Server | undefined;
let base: string;

export function useManagementApi(): void {
  beforeAll(async () => {
    stack = await startStack();
    const port = await freePort();
    server = await listen(apiDeps(stack.deps, stack.client, { adminToken: ADMIN_TOKEN }), '127.0.0.1', port);
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    if (server) await closeServer(server);
    await stack?.stop();
  });
}

let counter = 0;
export const unique = (label: string) => `${label}-${++counter}-${randomBytes(3).toString('hex')}`;
export const mailbox = (label: string) => `${unique(label)}@example.com`;

export interface Call extends Omit<RequestInit, 'body'> {
  json?: unknown;
  body?: string;
  /** A bearer credential: the admin token or an API key; null sends none. */
  auth?: string | null;
}

/** A request to the API with the operator token; `at` another base URL (the stack's own API, which has none). */
export function call(path: string, init: Call = {}, at = base): Promise<Response> {
  const { json, auth, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (auth) headers.set('authorization', `Bearer ${auth}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${at}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body, redirect: 'manual' });
}

export async function ok(response: Response, status = 200): Promise<any> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return text ? JSON.parse(text) : undefined;
}

export async function expectProblem(response: Response, status: number, code?: string): Promise<any> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text);
  expect(problem.status).toBe(status);
  if (code) expect(problem.type).toBe(`urn:usher:problem:${code}`);
  return problem;
}

export interface MadeTenant {
  id: string;
  slug: string;
  key: string;
  keyId: string;
  owner: { id: string; email: string };
}

/** A tenant made by the operator through the API, with its owner's key. */
export async function makeTenant(extra: Record<string, unknown> = {}): Promise<MadeTenant> {
  const slug = unique('acme');
  const email = `owner@${slug}.example.com`;
  const made = await ok(await call('/v1/tenants', { method: 'POST', auth: ADMIN_TOKEN, json: { slug, name: `Acme ${slug}`, owner: { email }, ...extra } }), 201);
  return { id: made.tenant.id, slug, key: made.apiKey.secret, keyId: made.apiKey.id, owner: made.owner };
}

export const countWhere = async (table: 'tenants' | 'users' | 'roles' | 'api_keys' | 'memberships' | 'compat_credentials', column: string, value: string) => {
  const row = await stack.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(column as never, '=', value as never)
    .executeTakeFirstOrThrow();
  return Number(row.n);
};
