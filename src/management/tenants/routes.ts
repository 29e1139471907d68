import Router from '@koa/router';
import type { Db } from '../../db/connect';
import { listTenants } from '../../db/tenants';
import { findUserByEmail } from '../../db/users';
import { type ApiKeyState, type RequestState, requireApiKey, requireOperator } from '../../http/auth';
import { parse, readJson } from '../../http/body';
import { keysetPage } from '../../http/paging';
import { createApiKeyFor, OWNER_KEY_GRANT } from '../api-keys/service';
import { operatorApiKeyBody } from '../api-keys/schemas';
import { requireManager, type ManagerState, managerActor } from '../manager';
import { invalidField } from '../problems';
import { created, noStore } from '../responses';
import { resourceId } from '../schemas';
import { issuedApiKeyView, tenantView, userView } from '../views';
import { createTenantBody, listTenantsQuery, updateTenantBody } from './schemas';
import { createTenant, getTenant, updateTenant } from './service';

const OPERATOR = 'operator';

/** The shared view plus the kind of the Royalti key, never the key itself (its natural home is ../views.ts). */

/** The operator's surface, /v1/tenants…: behind the admin token, and absent (404) without one. */
export function operatorTenantRoutes(db: Db, adminToken: string | undefined): Router<RequestState> {
  const router = new Router<RequestState>();
  const operator = requireOperator(adminToken);

  router.post('/v1/tenants', operator, async (ctx) => {
    const input = await readJson(ctx, createTenantBody);
    const result = await createTenant(db, { ...input, actor: OPERATOR });
    noStore(ctx);
    created(ctx, `/v1/tenants/${result.tenant.id}`, {
      tenant: tenantView(result.tenant),
      owner: userView(result.owner),
      apiKey: issuedApiKeyView(result.apiKey),
    });
  });

  router.get('/v1/tenants', operator, async (ctx) => {
    const q = parse(listTenantsQuery, ctx.query);
    const page = await keysetPage(q, (window) => listTenants(db, { ...window, slug: q.slug }));
    ctx.body = { data: page.rows.map(tenantView), nextCursor: page.nextCursor };
  });

  router.get('/v1/tenants/:id', operator, async (ctx) => {
    ctx.body = tenantView(await getTenant(db, parse(resourceId, ctx.params.id)));
  });

  /** Recovery: a key for a user of any tenant, e.g. when its owner lost theirs. */
  router.post('/v1/tenants/:id/api-keys', operator, async (ctx) => {
    const tenant = await getTenant(db, parse(resourceId, ctx.params.id));
    const input = await readJson(ctx, operatorApiKeyBody);
    let userId = input.userId;
    if (input.email) {
      const user = await findUserByEmail(db, tenant.id, input.email);
      if (!user) throw invalidField('email', 'no such user in this tenant');
      userId = user.id;
    }
    const issued = await createApiKeyFor(db, {
      tenantId: tenant.id,
      userId: userId!,
      name: input.name,
      actor: OPERATOR,
      kind: input.kind ?? OWNER_KEY_GRANT.kind,
      scopes: input.scopes ?? OWNER_KEY_GRANT.scopes,
      maxRank: input.maxRank,
    });
    noStore(ctx);
    created(ctx, `/v1/api-keys/${issued.id}`, issuedApiKeyView(issued));
  });

  return router;
}

/** The calling key's own tenant, /v1/tenant: any key of the tenant may read; changing it takes a manager's key. */
export function tenantRoutes(db: Db): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>();
  const key = requireApiKey(db);
  const manager = requireManager(db);

  router.get('/v1/tenant', key, async (ctx) => {
    ctx.body = tenantView(await getTenant(db, ctx.state.principal.tenantId));
  });

  router.patch<ManagerState>('/v1/tenant', key, manager, async (ctx) => {
    const patch = await readJson(ctx, updateTenantBody);
    ctx.body = tenantView(await updateTenant(db, ctx.state.principal.tenantId, patch, managerActor(ctx.state).actor));
  });

  return router;
}
