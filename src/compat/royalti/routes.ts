import type { Admission } from '../../http/admission';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import type { Tenant } from '../../db/database';
import { findUserById } from '../../db/users';
import { canonicalEmail } from '../../lib/email-address';
import { seedRoutes } from '../adapter';
import { inviteOrResend } from '../repeat';
import { roleNamed } from '../roles';
import { authenticate } from './auth';
import { refuse, RoyaltiError, toRoyaltiError } from './errors';
import { parseBody, readBody, singleQuery, UUID } from './request';

/**
 * Royalti `POST /auth/invite?workspaceId=&userId=` (seed 004): a bearer JWT, verified with the workspace's key,
 * invites one person by email. The workspace is the `workspaceId` query parameter, else the token's `workspaceId`
 * claim; the token's `sub` is the inviter. One createInvitation call (origin `royalti`); 201 with Royalti's message.
 * Every refusal is `{ "message": … }` with 400, 401, 404 or 500. See docs/compat/royalti.md.
 */
export const ROYALTI_PATH = '/auth/invite';
export const ROYALTI_EMAIL_SENT = 'Successful, Email verification Instructions have been sent to your email';
export const ROYALTI_LINK_ONLY = 'Successful, the invitation was created and no email was sent; give the invitee the acceptUrl';

export function royaltiRoutes(deps: InvitationDeps, admission: Admission): Router {
  return seedRoutes(admission, {
    endpoints: [
      {
        paths: [ROYALTI_PATH],
        methods: { POST: (ctx) => invite(deps, ctx) },
        otherMethods: (ctx) => new RoyaltiError(405, `${ctx.method} is not supported on ${ROYALTI_PATH}; use POST`),
      },
    ],
    refuse: (ctx, err) => refuse(deps, ctx, err),
  });
}

async function invite(deps: InvitationDeps, ctx: Context): Promise<void> {
  const { tenant, inviterUserId, subject } = await authenticate(deps, ctx);
  const request = parseBody(await readBody(ctx));
  await checkInvitee(deps, ctx, tenant, request.email);

  // Inviting someone whose invitation is open is Royalti's "Success – Existing User Invite": that invitation is sent
  // again (within the resend limits) and the answer is the first call's.
  const created = await inviteOrResend(deps, {
    tenantId: tenant.id,
    email: request.email,
    ...(request.role ? { role: await roleNamed(deps.db, tenant.id, request.role) } : {}),
    inviterUserId,
    message: request.message,
    firstName: request.firstName,
    lastName: request.lastName,
    redirectUrl: request.redirectUrl,
    sendEmail: request.sendEmail,
    origin: 'royalti',
    actor: `royalti-jwt:${subject}`,
  }).catch((err: unknown) => {
    throw toRoyaltiError(deps, ctx, err, request);
  });
  ctx.status = 201;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = created.acceptUrl ? { message: ROYALTI_LINK_ONLY, acceptUrl: created.acceptUrl } : { message: ROYALTI_EMAIL_SENT };
}

/** `userId`, when given, names the invitee's existing user record in the workspace: it must be the one for `email`. */
async function checkInvitee(deps: InvitationDeps, ctx: Context, tenant: Tenant, email: string): Promise<void> {
  const userId = singleQuery(ctx, 'userId');
  if (!userId) return;
  const user = UUID.test(userId) ? await findUserById(deps.db, tenant.id, userId) : undefined;
  if (!user) throw new RoyaltiError(404, `User not found in this workspace: ${userId}`);
  if (user.email_canonical !== canonicalEmail(email)) throw new RoyaltiError(400, `userId ${userId} belongs to another email address than ${email}`);
}
