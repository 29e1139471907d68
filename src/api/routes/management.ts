import Router from '@koa/router';
import type { ApiDeps } from '../deps';

/** Placeholder: tenants, settings, roles, users, memberships and API keys are being written. */
export function managementRoutes(_deps: ApiDeps): Router {
  return new Router();
}
