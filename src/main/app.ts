import { randomUUID } from 'node:crypto';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import { compatRoutes } from '../compat/index';
import { tokenPattern } from '../invitations/tokens';
import { type Logger, withLogContext } from '../lib/log';
import { observeRequests } from '../http/observe';
import type { ApiDeps } from './api-deps';
import { declaredMethodsOnly, openApiDocument } from './openapi';
import { problemMiddleware } from '../http/problem';
import { admitted, createAdmission } from '../http/admission';
import { createRateLimiter, credentialKey, type RateLimiter } from '../http/rate-limit';
import { securityHeaders } from '../http/security-headers';
import { UsherError } from '../lib/errors';
import { acceptPageRoutes } from '../invitations/accept-page';
import { batchRoutes } from '../bulk/routes';
import { healthRoutes } from './health';
import { invitationRoutes, inviteeRoutes } from '../invitations/routes';
import { managementRoutes } from '../management/routes';
import { outboxRoutes } from './outbox-routes';
import { webhookRoutes } from '../webhooks/routes';

export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  // X-Forwarded-* are trusted only behind a proxy that sets them (TRUST_PROXY); anyone else could forge them.
  app.proxy = deps.trustProxy;
  app.silent = true;
  app.use(observeRequests());
  app.use(requestLog(deps.log));
  app.use(securityHeaders);
  app.use(problemMiddleware(deps.log));
  const documented = { outbox: deps.outbox !== undefined };
  // One cap for the core API, the accept page and the seed APIs; the page and the seeds take their place in their own
  // routers, so that a refusal leaves as a page or in the vendor's shape. The meta and health endpoints are never
  // refused: an orchestrator must still see in.
  const admission = createAdmission(deps.rateLimits.requestsInFlight);
  app.use(admitted(admission, (path) => path.startsWith('/v1/')));
  app.use(declaredMethodsOnly(documented));
  app.use(limitWrites(createRateLimiter(deps.rateLimits.writesPerMinute)));

  const meta = new Router();
  const openapi = openApiDocument(deps.publicBaseUrl, documented);
  meta.get('/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  meta.get('/', (ctx) => {
    // A tenant whose home page is Usher itself (the dev demo) gets links to `/?token=…`: send them to the accept page.
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : undefined;
    if (token && tokenPattern.test(token)) {
      ctx.redirect(`/invite/${token}`);
      return;
    }
    ctx.body = { name: 'usher', openapi: '/openapi.json', health: '/healthz', ready: '/readyz' };
  });

  const routers = [meta, healthRoutes(deps), inviteeRoutes(deps), batchRoutes(deps), invitationRoutes(deps), managementRoutes(deps), acceptPageRoutes(deps, admission), ...compatRoutes(deps, { loginsPerMinute: deps.rateLimits.loginsPerMinute, admission })];
  routers.push(webhookRoutes(deps));
  if (deps.outbox) routers.push(outboxRoutes(deps.outbox));
  // Without `throw`, a router's 405 or 501 keeps the Allow it computed; declaredMethodsOnly makes it problem+json.
  for (const router of routers) app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/** One line per request, with an id that problem bodies repeat, so a user's report finds its log line. */
function requestLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    // Read now: once a client hangs up (a refused oversized upload), its socket has no address left to read.
    const ip = ctx.ip;
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      // Every line logged while handling the request, and every workflow it starts or updates, carries its id.
      await withLogContext({ requestId: ctx.state.requestId }, next);
    } finally {
      log.info('request', {
        requestId: ctx.state.requestId,
        method: ctx.method,
        ip,
        path: ctx.path.replace(/\/invite\/[^/]+/, '/invite/:token'),
        status: ctx.status,
        ms: Math.round(performance.now() - started),
      });
    }
  };
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Writes under /v1 are limited per presented API key (by its hash): a leaked or buggy key cannot flood the engine. */
function limitWrites(limiter: RateLimiter) {
  return async (ctx: Context, next: Next) => {
    const credential = /^Bearer\s+(\S+)/i.exec(ctx.get('authorization'))?.[1];
    if (credential && !READS.has(ctx.method) && ctx.path.startsWith('/v1/')) {
      const verdict = limiter.take(credentialKey(credential));
      if (!verdict.ok) {
        throw new UsherError('rate-limited', `this API key made too many changes; retry in ${verdict.retryAfterSeconds} s`, { retryAfter: verdict.retryAfterSeconds });
      }
    }
    await next();
  };
}
