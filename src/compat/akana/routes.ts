import type { Admission } from '../../http/admission';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { UsherError } from '../../lib/errors';
import { seedRoutes } from '../adapter';
import type { LoginLimiter } from '../login-limit';
import { inviteOrResend } from '../repeat';
import { authenticate, login } from './auth';
import { AkanaError, refuse, toAkanaError, withProgress } from './errors';
import { negotiate, parseRequest, readBody } from './request';

/**
 * Akana API Platform `POST /api/users/invitations` (seed 003): a logged-in platform user invites one or more people
 * by email. The session is the `AtmoAuthToken_{tenant}` cookie; the CSRF header `X-Csrf-Token_{tenant}` must carry
 * the session's token when the tenant requires it. Every address becomes one createInvitation call (origin `akana`);
 * the answer is the JSON array of the addresses that now have an open invitation. See docs/compat/akana.md.
 */
export const AKANA_PATH = '/api/users/invitations';

export function akanaRoutes(deps: InvitationDeps, logins: LoginLimiter, admission: Admission): Router {
  return seedRoutes(admission, {
    endpoints: [
      { paths: ['/api/login'], methods: { POST: (ctx) => login(deps, logins, ctx) } },
      {
        paths: [AKANA_PATH],
        methods: { POST: (ctx) => invite(deps, ctx) },
        otherMethods: (ctx) => new AkanaError(405, `${ctx.method} is not supported on ${AKANA_PATH}; use POST`),
      },
      // Anything below the resource answers in Akana's shape rather than problem+json.
      { paths: [`${AKANA_PATH}/*rest`], methods: {}, otherMethods: (ctx) => new AkanaError(404, `The resource could not be found: ${ctx.path}`) },
    ],
    refuse: (ctx, err) => refuse(deps, ctx, err),
  });
}

async function invite(deps: InvitationDeps, ctx: Context): Promise<void> {
  const { principal, tenant } = await authenticate(deps, ctx);
  const responseType = negotiate(ctx);
  const request = parseRequest(await readBody(ctx));

  const invited: string[] = [];
  for (const email of request.addresses) {
    try {
      // An address whose invitation is still open is sent it again (within the resend limits) and answers as invited.
      await inviteOrResend(deps, {
        tenantId: tenant.id,
        email,
        inviterUserId: principal.userId,
        message: request.message,
        sendEmail: true,
        origin: 'akana',
        actor: `akana-session:${principal.credentialId}`,
      });
      invited.push(email);
    } catch (err) {
      // A member is not invited again; the address is left out of the answer.
      if (err instanceof UsherError && err.code === 'already-member') continue;
      throw withProgress(toAkanaError(deps, ctx, err), invited.length, request.addresses.length);
    }
  }
  ctx.status = 200;
  ctx.type = responseType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = invited;
}
