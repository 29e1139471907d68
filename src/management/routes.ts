import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ApiKeyPrincipal } from '../db/api-keys';
import type { Db } from '../db/connect';
import { findUserByEmail } from '../db/users';
import { UsherError } from '../lib/errors';
import { isManager, standingOf } from './access';
import { createApiKeyFor, listApiKeys, revokeApiKey } from './api-keys';
import { issueCompatCredential, listCompatCredentials, revokeCompatCredential } from './compat-credentials';
import { forbidden, invalidField } from './problems';
import { createRole, deleteRole, findRole, listRoles, updateRole, type Actor } from './roles';
import { createTenant, getTenant, listTenants, updateTenant } from './tenants';
import { createUser, getUser, listUsers, removeMembership, setMembership, updateUser } from './users';
import { apiKeyView, compatCredentialView, roleView, tenantView, userView } from './views';
import { requireApiKey, requireOperator } from '../http/auth';
import { parse, readJson } from '../http/body';
import { keysetPage } from '../http/paging';
import type { InvitationDeps } from '../invitations/deps';
import {
  createApiKeyBody,
  createCompatCredentialBody,
  createRoleBody,
  createTenantBody,
  createUserBody,
  listTenantsQuery,
  listUsersQuery,
  membershipBody,
  operatorApiKeyBody,
  resourceId,
  updateRoleBody,
  updateTenantBody,
  updateUserBody,
} from './schemas';

const OPERATOR = 'operator';

const principalOf = (ctx: Context): ApiKeyPrincipal => ctx.state.principal as ApiKeyPrincipal;
const actorOf = (ctx: Context): Actor => ({ actor: `api-key:${principalOf(ctx).keyId}`, rank: ctx.state.managerRank as number });

/** After requireApiKey: the key's user must hold a role of the tenant's highest rank (the owner role by default). */
export function requireManager(db: Db) {
  return async (ctx: Context, next: Next) => {
    const { tenantId, userId } = principalOf(ctx);
    const standing = await standingOf(db, tenantId, userId);
    if (!isManager(standing)) {
      throw forbidden("managing the tenant takes a key whose user holds the tenant's highest-ranked role (owner)");
    }
    ctx.state.managerRank = standing.rank;
    await next();
  };
}

function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
}

function created(ctx: Context, location: string, body: unknown): void {
  ctx.status = 201;
  ctx.set('Location', location);
  ctx.body = body;
}

export function managementRoutes(deps: InvitationDeps & { adminToken?: string }): Router {
  const router = new Router();
  const { db } = deps;
  const operator = requireOperator(deps.adminToken);
  const key = requireApiKey(db);
  const manager = [key, requireManager(db)] as const;

  // Operators.

  router.post('/v1/tenants', operator, async (ctx) => {
    const input = await readJson(ctx, createTenantBody);
    const result = await createTenant(db, { ...input, actor: OPERATOR });
    noStore(ctx);
    created(ctx, `/v1/tenants/${result.tenant.id}`, {
      tenant: tenantView(result.tenant),
      owner: userView(result.owner),
      apiKey: { ...withoutCurrent(apiKeyView(result.apiKey)), secret: result.apiKey.secret },
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
    const issued = await createApiKeyFor(db, { tenantId: tenant.id, userId: userId!, name: input.name, actor: OPERATOR });
    noStore(ctx);
    created(ctx, `/v1/api-keys/${issued.id}`, { ...withoutCurrent(apiKeyView(issued)), secret: issued.secret });
  });

  // The tenant itself: any key of the tenant may read; managing takes a manager's key.

  router.get('/v1/tenant', key, async (ctx) => {
    ctx.body = tenantView(await getTenant(db, principalOf(ctx).tenantId));
  });

  router.patch('/v1/tenant', ...manager, async (ctx) => {
    const patch = await readJson(ctx, updateTenantBody);
    ctx.body = tenantView(await updateTenant(db, principalOf(ctx).tenantId, patch, actorOf(ctx).actor));
  });

  // Roles.

  router.get('/v1/roles', key, async (ctx) => {
    ctx.body = { data: (await listRoles(db, principalOf(ctx).tenantId)).map(roleView) };
  });

  router.post('/v1/roles', ...manager, async (ctx) => {
    const input = await readJson(ctx, createRoleBody);
    const role = await createRole(db, principalOf(ctx).tenantId, input, actorOf(ctx));
    created(ctx, `/v1/roles/${role.id}`, roleView(role));
  });

  router.get('/v1/roles/:id', key, async (ctx) => {
    ctx.body = roleView(await findRole(db, principalOf(ctx).tenantId, parse(resourceId, ctx.params.id)));
  });

  router.patch('/v1/roles/:id', ...manager, async (ctx) => {
    const id = parse(resourceId, ctx.params.id);
    const patch = await readJson(ctx, updateRoleBody);
    ctx.body = roleView(await updateRole(db, principalOf(ctx).tenantId, id, patch, actorOf(ctx)));
  });

  router.delete('/v1/roles/:id', ...manager, async (ctx) => {
    await deleteRole(db, principalOf(ctx).tenantId, parse(resourceId, ctx.params.id), actorOf(ctx));
    ctx.status = 204;
  });

  // Users and memberships.

  router.get('/v1/users', ...manager, async (ctx) => {
    const q = parse(listUsersQuery, ctx.query);
    const page = await keysetPage(q, (window) => listUsers(db, principalOf(ctx).tenantId, { ...window, email: q.email }));
    ctx.body = { data: page.rows.map(userView), nextCursor: page.nextCursor };
  });

  router.post('/v1/users', ...manager, async (ctx) => {
    const input = await readJson(ctx, createUserBody);
    const user = await createUser(db, principalOf(ctx).tenantId, input, actorOf(ctx));
    created(ctx, `/v1/users/${user.id}`, userView(user));
  });

  router.get('/v1/users/:id', ...manager, async (ctx) => {
    ctx.body = userView(await getUser(db, principalOf(ctx).tenantId, parse(resourceId, ctx.params.id)));
  });

  router.patch('/v1/users/:id', ...manager, async (ctx) => {
    const id = parse(resourceId, ctx.params.id);
    const patch = await readJson(ctx, updateUserBody);
    ctx.body = userView(await updateUser(db, principalOf(ctx).tenantId, id, patch, actorOf(ctx)));
  });

  router.put('/v1/users/:id/membership', ...manager, async (ctx) => {
    const id = parse(resourceId, ctx.params.id);
    const { role } = await readJson(ctx, membershipBody);
    const result = await setMembership(db, principalOf(ctx).tenantId, id, role, actorOf(ctx));
    ctx.status = result.created ? 201 : 200;
    ctx.body = userView(result.user);
  });

  router.delete('/v1/users/:id/membership', ...manager, async (ctx) => {
    await removeMembership(db, principalOf(ctx).tenantId, parse(resourceId, ctx.params.id), actorOf(ctx));
    ctx.status = 204;
  });

  // API keys.

  router.get('/v1/api-keys', ...manager, async (ctx) => {
    const { tenantId, keyId } = principalOf(ctx);
    ctx.body = { data: (await listApiKeys(db, tenantId)).map((k) => apiKeyView(k, keyId)) };
  });

  router.post('/v1/api-keys', ...manager, async (ctx) => {
    const input = await readJson(ctx, createApiKeyBody);
    const { tenantId, userId } = principalOf(ctx);
    const issued = await createApiKeyFor(db, { tenantId, userId: input.userId ?? userId, name: input.name, actor: actorOf(ctx).actor });
    noStore(ctx);
    created(ctx, `/v1/api-keys/${issued.id}`, { ...withoutCurrent(apiKeyView(issued)), secret: issued.secret });
  });

  router.delete('/v1/api-keys/:id', ...manager, async (ctx) => {
    await revokeApiKey(db, { tenantId: principalOf(ctx).tenantId, id: parse(resourceId, ctx.params.id), actor: actorOf(ctx).actor });
    ctx.status = 204;
  });

  // Credentials of the seed APIs.

  router.get('/v1/compat-credentials', ...manager, async (ctx) => {
    ctx.body = { data: (await listCompatCredentials(db, principalOf(ctx).tenantId)).map(compatCredentialView) };
  });

  router.post('/v1/compat-credentials', ...manager, async (ctx) => {
    const input = await readJson(ctx, createCompatCredentialBody);
    const { tenantId, userId } = principalOf(ctx);
    const issued = await issueCompatCredential(db, tenantId, input, { actor: actorOf(ctx).actor, userId });
    noStore(ctx);
    created(ctx, `/v1/compat-credentials/${issued.credential.id}`, { ...compatCredentialView(issued.credential), secrets: issued.secrets });
  });

  router.delete('/v1/compat-credentials/:id', ...manager, async (ctx) => {
    await revokeCompatCredential(db, principalOf(ctx).tenantId, parse(resourceId, ctx.params.id), actorOf(ctx).actor);
    ctx.status = 204;
  });

  return router;
}

function withoutCurrent<T extends { current: boolean }>(view: T): Omit<T, 'current'> {
  const { current: _current, ...rest } = view;
  return rest;
}
