import Router from '@koa/router';
import type { InvitationDeps } from '../invitations/deps';
import { apiKeyRoutes } from './api-keys/routes';
import { compatCredentialRoutes } from './compat-credentials/routes';
import { roleRoutes } from './roles/routes';
import { operatorTenantRoutes, tenantRoutes } from './tenants/routes';
import { userRoutes } from './users/routes';

/** The management surface: operators' /v1/tenants…, and a tenant managing itself with its keys. */
export function managementRoutes(deps: InvitationDeps & { adminToken?: string }): Router {
  const { db } = deps;
  return new Router()
    .use(operatorTenantRoutes(db, deps.adminToken).routes())
    .use(tenantRoutes(db).routes())
    .use(roleRoutes(db).routes())
    .use(userRoutes(db).routes())
    .use(apiKeyRoutes(db).routes())
    .use(compatCredentialRoutes(db).routes());
}
