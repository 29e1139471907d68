import type { Context, Next } from 'koa';
import { z } from 'zod';
import { bulkPaths } from '../bulk/openapi';
import { compatPaths, compatSecuritySchemes, compatTags } from '../compat/openapi';
import { ok, problemComponent, problemResponses, type Responses, withProblem } from '../http/openapi';
import { invitationPaths } from '../invitations/openapi';
import { UsherError } from '../lib/errors';
import { managementPaths, managementSecuritySchemes } from '../management/openapi';
import { webhookPaths } from '../webhooks/openapi';

/** What the document covers beyond the API every deployment has. */
export interface DocumentOptions {
  /** `usher dev`'s local mail catch-all at /dev/outbox. */
  outbox?: boolean;
}

const META = ['Service'];

const metaPaths = {
  '/': {
    get: {
      operationId: 'serviceIndex',
      tags: META,
      summary: 'What this service is and where its document and health checks are',
      responses: {
        '200': ok('The index', z.object({ name: z.literal('usher'), openapi: z.literal('/openapi.json'), health: z.literal('/healthz'), ready: z.literal('/readyz') })),
        '302': { description: '`?token=` of an accept link: on to /invite/{token}', headers: { Location: { required: true, schema: { type: 'string' } } } },
      },
      parameters: [{ name: 'token', in: 'query', required: false, description: 'An accept link\'s token, for a tenant whose home page is Usher itself', schema: { type: 'string' } }],
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openApiDocument',
      tags: META,
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'info', 'paths'] } } } } },
    },
  },
  '/healthz': {
    get: {
      operationId: 'health',
      tags: META,
      summary: 'The process is up',
      responses: { '200': ok('Up', z.object({ status: z.literal('ok') })) },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readiness',
      tags: META,
      summary: 'The database and Temporal answer; which one does not is named, why is only logged',
      responses: {
        '200': ok('Ready', z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.literal('ok')) })),
        '503': ok(
          'Not ready: a dependency does not answer (Retry-After), or the process is shutting down',
          z.object({ status: z.enum(['not ready', 'shutting down']), checks: z.record(z.string(), z.enum(['ok', 'unavailable'])) }),
          { 'Retry-After': { required: false, schema: { type: 'integer', minimum: 0 } } },
        ),
      },
    },
  },
};

const outboxMessage = z.object({
  id: z.number().int(),
  to: z.array(z.string()),
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  acceptLink: z.string().nullable(),
  receivedAt: z.string(),
  messageId: z.string().nullable(),
});

const outboxPaths = {
  '/dev/outbox': {
    get: {
      operationId: 'devOutbox',
      tags: ['Development'],
      summary: '`usher dev` only: what the local SMTP catch-all received, newest first (HTML, or JSON when asked for)',
      responses: {
        '200': {
          description: 'The messages',
          content: { 'application/json': { schema: { type: 'array', items: ok('', outboxMessage).content['application/json'].schema } }, 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
  },
  '/dev/outbox/{id}': {
    get: {
      operationId: 'devOutboxMessage',
      tags: ['Development'],
      summary: '`usher dev` only: one caught message as its HTML',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: 'The message', content: { 'text/html': { schema: { type: 'string' } } } }, ...problemResponses('not-found') },
    },
  },
};

const coreTags = [
  { name: 'Invitations', description: 'A tenant\'s invitations, with its API key' },
  { name: 'Invitee', description: 'The invitee\'s side: the link token is the credential' },
  { name: 'Bulk invitations', description: 'Many invitations at once, as durable work' },
  { name: 'Tenant', description: 'The calling key\'s tenant' },
  { name: 'Roles', description: 'The tenant\'s roles' },
  { name: 'Users', description: 'The tenant\'s users and memberships' },
  { name: 'API keys', description: 'The tenant\'s API keys' },
  { name: 'Seed API credentials', description: 'Credentials of the seed APIs' },
  { name: 'Webhooks', description: 'The tenant\'s webhook endpoints and their deliveries' },
  { name: 'Operators', description: 'Tenants, for the platform operator (USHER_ADMIN_TOKEN)' },
  { name: 'Service', description: 'Index, this document, health' },
];

/** The paths Usher answers in its own terms (problem+json): everything but the seed APIs. */
function corePaths(options: DocumentOptions) {
  return turnedAwayWhenFull({ ...metaPaths, ...invitationPaths, ...bulkPaths, ...managementPaths, ...tagged(webhookPaths, 'Webhooks'), ...(options.outbox ? outboxPaths : {}) });
}

/** Every operation under /v1 can meet the API's cap on requests in flight (src/http/admission.ts): 503. The accept page says so in a page. */
function turnedAwayWhenFull<P extends Record<string, Record<string, unknown>>>(paths: P): P {
  return mapOperations(paths, (op, path) => (path.startsWith('/v1/') ? { ...op, responses: withProblem(op.responses as Responses, 'busy') } : op));
}

/** Paths whose operations carry no tag get this one. */
function tagged<P extends Record<string, Record<string, unknown>>>(paths: P, tag: string): P {
  return mapOperations(paths, (op) => ('tags' in op ? op : { tags: [tag], ...op }));
}

/** `paths` with each operation (a path item's HTTP-method member) replaced by `change`'s answer; other members as they are. */
function mapOperations<P extends Record<string, Record<string, unknown>>>(paths: P, change: (op: Record<string, unknown>, path: string) => Record<string, unknown>): P {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(Object.entries(item).map(([key, op]) => [key, HTTP_METHODS.includes(key) && typeof op === 'object' && op !== null ? change(op as Record<string, unknown>, path) : op])),
    ]),
  ) as P;
}

/** OpenAPI 3.1, generated from the same zod schemas that validate requests, so the two cannot drift. */
export function openApiDocument(publicBaseUrl: string, options: DocumentOptions = {}) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Usher',
      version: '1',
      description: [
        'Invitations as durable Temporal workflows.',
        'Errors are RFC 9457 problem+json (`#/components/schemas/Problem`); the seed APIs answer in their vendors\' own shapes.',
        'Text may not contain U+0000 or unpaired surrogates (400). A method a path does not list is 405 with `Allow`.',
      ].join(' '),
    },
    servers: [{ url: publicBaseUrl }],
    tags: [...coreTags, ...(options.outbox ? [{ name: 'Development', description: '`usher dev` only' }] : []), ...compatTags],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key' },
        ...managementSecuritySchemes,
        ...compatSecuritySchemes,
      },
      schemas: { Problem: problemComponent },
    },
    paths: { ...corePaths(options), ...compatPaths },
  };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface PathRule {
  pattern: RegExp;
  /** As the routers write it (`/v1/invitations/:id`): the route label of the request metrics (src/http/observe.ts). */
  route: string;
  /** Literal segments first: `/v1/invitations/lookup` wins over `/v1/invitations/{id}`, as OpenAPI says. */
  specificity: number[];
  allow: string[];
}

/**
 * Undeclared methods on Usher's own paths, answered from the document before any route runs: 405 problem+json with
 * `Allow` (the declared methods, HEAD with GET, and OPTIONS), and OPTIONS itself as 204 with `Allow`. Deciding here,
 * not in the routers, keeps a literal path from reaching a sibling's `{id}` route (PATCH /v1/invitations/lookup is
 * 405, not "not an invitation id") and answers before authentication, as for any path. The seed APIs refuse methods
 * in their own shapes (src/compat/adapter.ts); what reaches the routers' own 405 still leaves with `Allow`.
 */
export function declaredMethodsOnly(options: DocumentOptions = {}) {
  const rules: PathRule[] = Object.entries(corePaths(options))
    .map(([template, item]) => {
      const declared = Object.keys(item)
        .filter((k) => HTTP_METHODS.includes(k))
        .map((m) => m.toUpperCase());
      const allow = [...declared, ...(declared.includes('GET') ? ['HEAD'] : []), 'OPTIONS'];
      const segments = template.split('/').slice(1);
      const pattern = new RegExp(
        `^/${segments.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`,
        'i', // as the routers match
      );
      return { pattern, route: template.replace(/\{(\w+)\}/g, ':$1'), specificity: segments.map((s) => (s.startsWith('{') ? 0 : 1)), allow };
    })
    .sort((a, b) => compareSpecificity(b.specificity, a.specificity));

  return async (ctx: Context, next: Next) => {
    const rule = rules.find((r) => r.pattern.test(ctx.path));
    if (rule && (ctx.method === 'OPTIONS' || !rule.allow.includes(ctx.method))) {
      // Answered here, before any router: the request is still labelled with its route, as the router would.
      (ctx as Context & { _matchedRoute?: string })._matchedRoute = rule.route;
      if (ctx.method === 'OPTIONS') {
        ctx.set('Allow', rule.allow.join(', '));
        ctx.status = 204;
        return;
      }
      refuseMethod(ctx, rule.allow);
    }
    await next();
    // A router's own refusal (a seed path without a vendor 405): problem+json, keeping the Allow it set.
    if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
      const allow = ctx.response.get('Allow');
      refuseMethod(ctx, allow ? allow.split(/,\s*/) : []);
    }
  };
}

function refuseMethod(ctx: Context, allow: string[]): never {
  if (allow.length > 0) ctx.set('Allow', allow.join(', '));
  throw new UsherError('method-not-allowed', `${ctx.method} is not allowed on ${ctx.path}${allow.length > 0 ? `; it answers ${allow.join(', ')}` : ''}`, { allow });
}

function compareSpecificity(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
