import Router from '@koa/router';
import type { ApiDeps } from '../api/deps';

/** Placeholder: the quickbase adapter is being written. */
export function quickbaseRoutes(_deps: ApiDeps): Router {
  return new Router();
}
