import Router from '@koa/router';
import { listApiKeys } from '../../db/api-keys';
import type { Db } from '../../db/connect';
import { type ApiKeyState, keyActor, requireApiKey } from '../../http/auth';
import { parse, readJson } from '../../http/body';
import { requireManager, type ManagerState } from '../manager';
import { created, noStore } from '../responses';
import { resourceId } from '../schemas';
import { apiKeyView, issuedApiKeyView } from '../views';
import { createApiKeyBody } from './schemas';
import { createApiKeyFor, revokeApiKey } from './service';

/** /v1/api-keys: all of it takes a manager's key. */
export function apiKeyRoutes(db: Db): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>();
  const key = requireApiKey(db);
  const manager = requireManager(db);

  router.get<ManagerState>('/v1/api-keys', key, manager, async (ctx) => {
    const { tenantId, keyId } = ctx.state.principal;
    ctx.body = { data: (await listApiKeys(db, tenantId)).map((k) => apiKeyView(k, keyId)) };
  });

  router.post<ManagerState>('/v1/api-keys', key, manager, async (ctx) => {
    const input = await readJson(ctx, createApiKeyBody);
    const { tenantId, userId } = ctx.state.principal;
    const issued = await createApiKeyFor(db, {
      tenantId,
      userId: input.userId ?? userId,
      name: input.name,
      actor: keyActor(ctx.state),
      kind: input.kind,
      scopes: input.scopes,
      maxRank: input.maxRank,
      makerRank: ctx.state.managerRank,
    });
    noStore(ctx);
    created(ctx, `/v1/api-keys/${issued.id}`, issuedApiKeyView(issued));
  });

  router.delete<ManagerState>('/v1/api-keys/:id', key, manager, async (ctx) => {
    await revokeApiKey(db, { tenantId: ctx.state.principal.tenantId, id: parse(resourceId, ctx.params.id), actor: keyActor(ctx.state) });
    ctx.status = 204;
  });

  return router;
}
