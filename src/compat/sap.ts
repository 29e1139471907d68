import Router from '@koa/router';
import type { ApiDeps } from '../api/deps';

/** Placeholder: the sap adapter is being written. */
export function sapRoutes(_deps: ApiDeps): Router {
  return new Router();
}
