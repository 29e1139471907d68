import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Db } from '../db/connect';
import { findTopRank } from '../db/webhooks';
import { type ApiKeyState, keyActor, requireApiKey, requireScope } from '../http/auth';
import { parse, readJson } from '../http/body';
import { keysetPage } from '../http/paging';
import { UsherError } from '../lib/errors';
import { createEndpointBody, deliveriesQuery, endpointId, eventId, pageQuery, rotateSecretBody, updateEndpointBody } from './schemas';
import { createEndpoint, deleteEndpoint, getEndpoint, listDeliveries, listEndpoints, redeliver, rotateSecret, updateEndpoint } from './service';
import { defaultWebhookSettings, type WebhookSettings } from './settings';
import { attemptView, endpointView, endpointWithSecretView } from './views';

export interface WebhookApiDeps {
  db: Db;
  clock: () => Date;
  /** Undefined: production's rules (https only, no private targets). */
  webhooks?: WebhookSettings;
}

/**
 * Who may manage webhooks: a key with the `management` scope whose user holds a role of the tenant's highest rank
 * (the owner role by default), the same rule as the rest of the management surface. An endpoint receives every
 * invitation's events and its secret is shown to whoever creates or rotates it, so an invite-only key must not.
 * Checked here with the key's own rank and one query, since features do not import one another.
 */
function requireTenantManager(db: Db): Middleware<ApiKeyState> {
  return async (ctx, next) => {
    const { tenantId, userRank } = ctx.state.principal;
    const top = await findTopRank(db, tenantId);
    if (top === undefined || userRank < top) {
      throw new UsherError('forbidden', "managing webhooks takes a key whose user holds the tenant's highest-ranked role (owner)");
    }
    await next();
  };
}

/** /v1/webhook-endpoints: endpoints, their secrets, their delivery log and redelivery. */
export function webhookRoutes(deps: WebhookApiDeps): Router<ApiKeyState> {
  const { db } = deps;
  const service = { db, clock: deps.clock, settings: deps.webhooks ?? defaultWebhookSettings };
  const router = new Router<ApiKeyState>({ prefix: '/v1/webhook-endpoints' });
  router.use(requireApiKey(db), requireScope('management'), requireTenantManager(db));
  const tenant = (ctx: { state: ApiKeyState }) => ctx.state.principal.tenantId;
  const noStore = (ctx: { set(name: string, value: string): void }) => ctx.set('Cache-Control', 'no-store');

  router.post('/', async (ctx) => {
    const input = await readJson(ctx, createEndpointBody);
    const endpoint = await createEndpoint(service, tenant(ctx), input, keyActor(ctx.state));
    noStore(ctx);
    ctx.status = 201;
    ctx.set('Location', `/v1/webhook-endpoints/${endpoint.id}`);
    ctx.body = endpointWithSecretView(endpoint);
  });

  router.get('/', async (ctx) => {
    const q = parse(pageQuery, ctx.query);
    const page = await keysetPage(q, (window) => listEndpoints(db, tenant(ctx), window));
    ctx.body = { data: page.rows.map(endpointView), nextCursor: page.nextCursor };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = endpointView(await getEndpoint(db, tenant(ctx), parse(endpointId, ctx.params.id)));
  });

  router.patch('/:id', async (ctx) => {
    const id = parse(endpointId, ctx.params.id);
    const input = await readJson(ctx, updateEndpointBody);
    ctx.body = endpointView(await updateEndpoint(service, tenant(ctx), id, input, keyActor(ctx.state)));
  });

  router.delete('/:id', async (ctx) => {
    await deleteEndpoint(db, tenant(ctx), parse(endpointId, ctx.params.id), keyActor(ctx.state));
    ctx.status = 204;
  });

  router.post('/:id/rotate-secret', async (ctx) => {
    const id = parse(endpointId, ctx.params.id);
    const { graceSeconds } = await readJson(ctx, rotateSecretBody, { optional: true });
    const graceMs = graceSeconds === undefined ? service.settings.rotationGraceMs : graceSeconds * 1000;
    const endpoint = await rotateSecret(service, tenant(ctx), id, graceMs, keyActor(ctx.state));
    noStore(ctx);
    ctx.body = endpointWithSecretView(endpoint);
  });

  router.get('/:id/deliveries', async (ctx) => {
    const id = parse(endpointId, ctx.params.id);
    const q = parse(deliveriesQuery, ctx.query);
    const beforeId = q.cursor === undefined ? undefined : decodeAttemptCursor(q.cursor);
    const rows = await listDeliveries(db, tenant(ctx), id, { limit: q.limit + 1, beforeId, eventId: q.eventId });
    const pageRows = rows.slice(0, q.limit);
    const last = pageRows.at(-1);
    ctx.body = { data: pageRows.map(attemptView), nextCursor: rows.length > q.limit && last ? encodeAttemptCursor(last.id) : null };
  });

  router.post('/:id/events/:eventId/redeliver', async (ctx) => {
    const id = parse(endpointId, ctx.params.id);
    const event = parse(eventId, ctx.params.eventId);
    const { run } = await redeliver(db, tenant(ctx), id, event, keyActor(ctx.state));
    ctx.status = 202;
    ctx.body = { eventId: event, endpointId: id, run, status: 'pending' };
  });

  return router;
}

/** The delivery log pages by attempt id, newest first; the cursor is opaque to clients. */
const encodeAttemptCursor = (id: number): string => Buffer.from(`a:${id}`).toString('base64url');

function decodeAttemptCursor(cursor: string): number {
  const match = /^a:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new UsherError('invalid-request', 'cursor: not a cursor this API returned', { errors: [{ path: 'cursor', message: 'invalid' }] });
  return Number(match[1]);
}
