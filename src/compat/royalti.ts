import Router from '@koa/router';
import type { ApiDeps } from '../api/deps';

/** Placeholder: the royalti adapter is being written. */
export function royaltiRoutes(_deps: ApiDeps): Router {
  return new Router();
}
