import type Router from '@koa/router';
import type { InvitationDeps } from '../invitations/deps';
import { akanaRoutes } from './akana/routes';
import { type CompatOptions, createLoginLimiter } from './login-limit';
import { mendixRoutes } from './mendix/routes';
import { quickbaseRoutes } from './quickbase/routes';
import { royaltiRoutes } from './royalti/routes';
import { sapRoutes } from './sap/routes';

/**
 * The five seed APIs at their original paths. Each adapter only translates: its request into the same
 * createInvitation command the /v1 API uses, and the result or error back into the original's shape.
 */
export function compatRoutes(deps: InvitationDeps, options: CompatOptions): Router[] {
  // One limiter for both password-taking seeds: guessing at an account through either counts against it.
  const logins = createLoginLimiter(options.loginsPerMinute);
  const { admission } = options;
  return [...mendixRoutes(deps, admission), quickbaseRoutes(deps, logins, admission), sapRoutes(deps, admission), akanaRoutes(deps, logins, admission), royaltiRoutes(deps, admission)];
}
