import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/log';
import type { ApiDeps } from '../../src/main/api-deps';
import { createApp } from '../../src/main/app';
import { openApiDocument } from '../../src/main/openapi';

/**
 * The document against the routes themselves: every route is documented and every documented operation has a route,
 * and every path answers what it does not list with 405 and `Allow`. Undeclared methods are refused before anything
 * reaches a database, so the app runs here without one.
 */

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Paths whose undeclared methods are answered by their vendor's adapter, in the vendor's shape. */
const VENDOR_405 = ['/api/1/invite', '/cps/invite/', '/api/users/invitations', '/auth/invite', '/ws/InviteAPI/1'];

const deps = {
  log: createLogger('silent'),
  trustProxy: false,
  rateLimits: { writesPerMinute: 0, loginsPerMinute: 0 },
  publicBaseUrl: 'http://usher.test',
  readiness: {},
} as unknown as ApiDeps;

type PathItem = Record<string, { operationId?: string; tags?: string[]; parameters?: { name: string; in: string }[]; responses: Record<string, any> }> & {
  parameters?: { name: string; in: string }[];
};
const document = openApiDocument('http://usher.test') as unknown as { paths: Record<string, PathItem>; components: { schemas: Record<string, unknown> } };
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([key]) => HTTP_METHODS.includes(key))
    .map(([method, operation]) => ({ path, method: method.toUpperCase(), operation: operation as PathItem[string], item })),
);

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(createApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** A request by node:http (fetch refuses TRACE). */
function call(method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}
const header = (headers: Record<string, string | string[] | undefined>, name: string): string => String(headers[name] ?? '');

/** Every route of the app as `METHOD /path/{param}`, HEAD (Koa's, with every GET) and catch-alls aside. */
function routesOfApp(): Set<string> {
  const routes = new Set<string>();
  for (const middleware of createApp(deps).middleware as { router?: Router }[]) {
    for (const layer of middleware.router?.stack ?? []) {
      // router.all(): a seed adapter's refusal of the methods its vendor does not answer.
      if (layer.methods.length === 0 || layer.methods.includes('TRACE') || typeof layer.path !== 'string') continue;
      const path = layer.path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
      for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method} ${path}`);
    }
  }
  return routes;
}

describe('/openapi.json', () => {
  it('documents exactly the routes the app has', () => {
    const documented = new Set(operations.map((o) => `${o.method} ${o.path.replace(/(.)\/$/, '$1')}`));
    const routes = routesOfApp();
    expect([...routes].filter((r) => !documented.has(r)), 'routes missing from the document').toEqual([]);
    expect([...documented].filter((d) => !routes.has(d)), 'documented operations without a route').toEqual([]);
  });

  it('names, tags and parameterizes every operation, and answers every problem with the Problem schema', () => {
    const ids = operations.map((o) => o.operation.operationId);
    expect(ids.filter((id) => !id), 'operations without an operationId').toEqual([]);
    expect(new Set(ids).size, 'operationIds are unique').toBe(ids.length);
    for (const { path, method, operation, item } of operations) {
      expect(operation.tags?.length, `${method} ${path} has a tag`).toBeGreaterThan(0);
      const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])].filter((p) => p.in === 'path').map((p) => p.name);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(declared.sort(), `${method} ${path} declares its path parameters`).toEqual(inPath.sort());
      for (const [status, response] of Object.entries(operation.responses)) {
        const problem = response.content?.['application/problem+json'];
        if (problem) expect(JSON.stringify(problem.schema), `${method} ${path} ${status}`).toContain('#/components/schemas/Problem');
      }
    }
    expect(document.components.schemas.Problem).toBeDefined();
  });

  it('puts every seed API under a tag of its own', () => {
    const seedTags = new Set(operations.filter((o) => o.operation.tags?.some((t) => t.startsWith('Seed: '))).map((o) => o.operation.tags![0]));
    expect([...seedTags].sort()).toEqual(['Seed: Akana', 'Seed: Mendix', 'Seed: Quickbase', 'Seed: Royalti', 'Seed: SAP']);
  });
});

describe('methods a path does not list', () => {
  const paths = Object.keys(document.paths);
  const concrete = (path: string) => path.replace(/\{token\}/, 'A'.repeat(43)).replace(/\{[^}]+\}/g, '0190a0b2-0000-7000-8000-000000000000');
  const declaredOf = (path: string) => Object.keys(document.paths[path]!).filter((k) => HTTP_METHODS.includes(k)).map((m) => m.toUpperCase());

  it.each(paths)('%s: 405 with Allow, and the body says so', async (path) => {
    const declared = declaredOf(path);
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE'].filter((m) => !declared.includes(m))) {
      const { status, headers, text } = await call(method, concrete(path));
      expect(status, `${method} ${path}: ${text}`).toBe(405);
      const allow = header(headers, 'allow').split(/,\s*/);
      for (const m of declared) expect(allow, `${method} ${path}: Allow names ${m}`).toContain(m);
      for (const m of allow) expect([...declared, 'HEAD', 'OPTIONS'], `${method} ${path}: Allow lists only what the path answers`).toContain(m);
      if (VENDOR_405.includes(path)) {
        expect(header(headers, 'content-type'), `${method} ${path}`).not.toMatch(/problem\+json/);
      } else {
        expect(header(headers, 'content-type'), `${method} ${path}`).toMatch(/^application\/problem\+json/);
        const problem = JSON.parse(text);
        expect(problem).toMatchObject({ type: 'urn:usher:problem:method-not-allowed', status: 405 });
        expect(problem.allow).toEqual(allow);
        expect(problem.detail).toContain(method);
      }
    }
  });

  it('answers OPTIONS on Usher\'s own paths with 204 and Allow', async () => {
    for (const path of paths.filter((p) => !VENDOR_405.includes(p) && !p.startsWith('/db/') && p !== '/api/login')) {
      const response = await fetch(`${base}${concrete(path)}`, { method: 'OPTIONS' });
      expect(response.status, path).toBe(204);
      const allow = (response.headers.get('allow') ?? '').split(/,\s*/);
      expect(allow, path).toEqual(expect.arrayContaining([...declaredOf(path), 'OPTIONS']));
    }
  });

  it('takes a literal path before a sibling {id}: PATCH /v1/invitations/lookup is 405, not "not an invitation id"', async () => {
    for (const [method, path, allow] of [
      ['PATCH', '/v1/invitations/lookup', 'GET, HEAD, OPTIONS'],
      ['GET', '/v1/invitations/bulk', 'POST, OPTIONS'],
      ['DELETE', '/v1/invitations/accept', 'POST, OPTIONS'],
      ['GET', '/v1/invitations/decline', 'POST, OPTIONS'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
    }
  });

  it('refuses before authenticating: no credential is asked for a method the path does not have', async () => {
    const response = await fetch(`${base}/v1/users/0190a0b2-0000-7000-8000-000000000000`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('www-authenticate')).toBeNull();
  });
});
