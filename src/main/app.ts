import { randomUUID } from 'node:crypto';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import { compatRoutes } from '../compat/index';
import { tokenPattern } from '../invitations/tokens';
import type { Logger } from '../lib/log';
import type { ApiDeps } from './api-deps';
import { openApiDocument } from './openapi';
import { problemMiddleware } from '../http/problem';
import { acceptPageRoutes } from '../invitations/accept-page';
import { batchRoutes } from '../bulk/routes';
import { healthRoutes } from './health';
import { invitationRoutes, inviteeRoutes } from '../invitations/routes';
import { managementRoutes } from '../management/routes';
import { outboxRoutes } from './outbox-routes';

export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true;
  app.use(requestLog(deps.log));
  app.use(problemMiddleware(deps.log));

  const meta = new Router();
  const openapi = openApiDocument(deps.publicBaseUrl);
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

  const routers = [meta, healthRoutes(deps), inviteeRoutes(deps), batchRoutes(deps), invitationRoutes(deps), managementRoutes(deps), acceptPageRoutes(deps), ...compatRoutes(deps)];
  if (deps.outbox) routers.push(outboxRoutes(deps.outbox));
  for (const router of routers) app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  return app;
}

/** One line per request, with an id that problem bodies repeat, so a user's report finds its log line. */
function requestLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
    } finally {
      log.info('request', {
        requestId: ctx.state.requestId,
        method: ctx.method,
        path: ctx.path.replace(/\/invite\/[^/]+/, '/invite/:token'),
        status: ctx.status,
        ms: Math.round(performance.now() - started),
      });
    }
  };
}
