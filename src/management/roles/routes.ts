import Router from '@koa/router';
import type { Db } from '../../db/connect';
import { listRoles } from '../../db/roles';
import { type ApiKeyState, requireApiKey } from '../../http/auth';
import { parse, readJson } from '../../http/body';
import { requireManager, type ManagerState, managerActor } from '../manager';
import { created } from '../responses';
import { resourceId } from '../schemas';
import { roleView } from '../views';
import { createRoleBody, updateRoleBody } from './schemas';
import { createRole, deleteRole, findRole, updateRole } from './service';

/** /v1/roles: any key of the tenant may read; changes take a manager's key. */
export function roleRoutes(db: Db): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>();
  const key = requireApiKey(db);
  const manager = requireManager(db);

  router.get('/v1/roles', key, async (ctx) => {
    ctx.body = { data: (await listRoles(db, ctx.state.principal.tenantId)).map(roleView) };
  });

  router.post<ManagerState>('/v1/roles', key, manager, async (ctx) => {
    const input = await readJson(ctx, createRoleBody);
    const role = await createRole(db, ctx.state.principal.tenantId, input, managerActor(ctx.state));
    created(ctx, `/v1/roles/${role.id}`, roleView(role));
  });

  router.get('/v1/roles/:id', key, async (ctx) => {
    ctx.body = roleView(await findRole(db, ctx.state.principal.tenantId, parse(resourceId, ctx.params.id)));
  });

  router.patch<ManagerState>('/v1/roles/:id', key, manager, async (ctx) => {
    const id = parse(resourceId, ctx.params.id);
    const patch = await readJson(ctx, updateRoleBody);
    ctx.body = roleView(await updateRole(db, ctx.state.principal.tenantId, id, patch, managerActor(ctx.state)));
  });

  router.delete<ManagerState>('/v1/roles/:id', key, manager, async (ctx) => {
    await deleteRole(db, ctx.state.principal.tenantId, parse(resourceId, ctx.params.id), managerActor(ctx.state));
    ctx.status = 204;
  });

  return router;
}
