import Router from '@koa/router';
import { listTenantCredentials } from '../../db/compat-credential-admin';
import type { Db } from '../../db/connect';
import { type ApiKeyState, keyActor, requireApiKey } from '../../http/auth';
import { parse, readJson } from '../../http/body';
import { requireManager, type ManagerState } from '../manager';
import { created, noStore } from '../responses';
import { resourceId } from '../schemas';
import { compatCredentialView } from '../views';
import { createCompatCredentialBody } from './schemas';
import { issueCompatCredential, revokeCompatCredential } from './service';

/** /v1/compat-credentials, the seed APIs' credentials: all of it takes a manager's key. */
export function compatCredentialRoutes(db: Db): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>();
  const key = requireApiKey(db);
  const manager = requireManager(db);

  router.get<ManagerState>('/v1/compat-credentials', key, manager, async (ctx) => {
    ctx.body = { data: (await listTenantCredentials(db, ctx.state.principal.tenantId)).map(compatCredentialView) };
  });

  router.post<ManagerState>('/v1/compat-credentials', key, manager, async (ctx) => {
    const input = await readJson(ctx, createCompatCredentialBody);
    const { tenantId, userId } = ctx.state.principal;
    const issued = await issueCompatCredential(db, tenantId, input, { actor: keyActor(ctx.state), userId });
    noStore(ctx);
    created(ctx, `/v1/compat-credentials/${issued.credential.id}`, { ...compatCredentialView(issued.credential), secrets: issued.secrets });
  });

  router.delete<ManagerState>('/v1/compat-credentials/:id', key, manager, async (ctx) => {
    await revokeCompatCredential(db, ctx.state.principal.tenantId, parse(resourceId, ctx.params.id), keyActor(ctx.state));
    ctx.status = 204;
  });

  return router;
}
