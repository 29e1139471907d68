import Router from '@koa/router';
import type { ApiDeps } from '../api/deps';

/** Placeholder: the akana adapter is being written. */
export function akanaRoutes(_deps: ApiDeps): Router {
  return new Router();
}
