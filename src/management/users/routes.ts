import Router from '@koa/router';
import type { Db } from '../../db/connect';
import { listUsersWithRoles } from '../../db/users';
import { type ApiKeyState, requireApiKey } from '../../http/auth';
import { parse, readJson } from '../../http/body';
import { keysetPage } from '../../http/paging';
import { requireManager, type ManagerState, managerActor } from '../manager';
import { created } from '../responses';
import { resourceId } from '../schemas';
import { userView } from '../views';
import { createUserBody, listUsersQuery, membershipBody, updateUserBody } from './schemas';
import { createUser, getUser, removeMembership, setMembership, updateUser } from './service';

/** /v1/users and their memberships: all of it takes a manager's key. */
export function userRoutes(db: Db): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>();
  const key = requireApiKey(db);
  const manager = requireManager(db);

  router.get<ManagerState>('/v1/users', key, manager, async (ctx) => {
    const q = parse(listUsersQuery, ctx.query);
    const page = await keysetPage(q, (window) => listUsersWithRoles(db, ctx.state.principal.tenantId, { ...window, email: q.email }));
    ctx.body = { data: page.rows.map(userView), nextCursor: page.nextCursor };
  });

  router.post<ManagerState>('/v1/users', key, manager, async (ctx) => {
    const input = await readJson(ctx, createUserBody);
    const user = await createUser(db, ctx.state.principal.tenantId, input, managerActor(ctx.state));
    created(ctx, `/v1/users/${user.id}`, userView(user));
  });

  router.get<ManagerState>('/v1/users/:id', key, manager, async (ctx) => {
    ctx.body = userView(await getUser(db, ctx.state.principal.tenantId, parse(resourceId, ctx.params.id)));
  });

  router.patch<ManagerState>('/v1/users/:id', key, manager, async (ctx) => {
    const id = parse(resourceId, ctx.params.id);
    const patch = await readJson(ctx, updateUserBody);
    ctx.body = userView(await updateUser(db, ctx.state.principal.tenantId, id, patch, managerActor(ctx.state)));
  });

  router.put<ManagerState>('/v1/users/:id/membership', key, manager, async (ctx) => {
    const id = parse(resourceId, ctx.params.id);
    const { role } = await readJson(ctx, membershipBody);
    const result = await setMembership(db, ctx.state.principal.tenantId, id, role, managerActor(ctx.state));
    ctx.status = result.created ? 201 : 200;
    ctx.body = userView(result.user);
  });

  router.delete<ManagerState>('/v1/users/:id/membership', key, manager, async (ctx) => {
    await removeMembership(db, ctx.state.principal.tenantId, parse(resourceId, ctx.params.id), managerActor(ctx.state));
    ctx.status = 204;
  });

  return router;
}
