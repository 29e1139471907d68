import Router from '@koa/router';
import type { ApiDeps } from '../api/deps';

/** Placeholder: the mendix adapter is being written. */
export function mendixRoutes(_deps: ApiDeps): Router {
  return new Router();
}
