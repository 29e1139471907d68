import Router from '@koa/router';
import { findInvitation, listInvitations } from '../db/invitations';
import { findUserByEmail, findUserById } from '../db/users';
import { UsherError } from '../lib/errors';
import { createInvitation } from './create-invitation';
import { canonicalEmail } from '../lib/email-address';
import { editInvitation, resendInvitation, revokeInvitation } from './manage';
import { acceptByToken, declineByToken, lookupByToken } from './invitee-actions';
import { nextReminderOf, timelineOf, toViews } from './views';
import type { InvitationDeps } from './deps';
import { type ApiKeyState, keyActor, requireApiKey, requireInvitationScope } from '../http/auth';
import { type ApiKeyPrincipal, findApiKeyPrincipal } from '../db/api-keys';
import { idempotencyKey, parse, readJson } from '../http/body';
import { keysetPage } from '../http/paging';
import { acceptBody, createInvitationBody, editBody, idParam, inviterId, listInvitationsQuery, resendBody, revokeBody, tokenBody } from './schemas';


/** The invitee's side: no API key, the token is the credential. Mounted before the `:id` routes. */
export function inviteeRoutes(deps: InvitationDeps): Router {
  const router = new Router({ prefix: '/v1/invitations' });
  router.get('/lookup', async (ctx) => {
    const { token } = parse(tokenBody, { token: ctx.query.token });
    const found = await lookupByToken(deps, token);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      invitationId: found.invitation.id,
      email: found.invitation.email,
      tenant: { id: found.tenant.id, name: found.tenant.name },
      inviterName: found.inviterName,
      role: found.roleName,
      message: found.invitation.message,
      expiresAt: found.invitation.expires_at.toISOString(),
      status: found.invitation.status,
      acceptPolicy: found.tenant.accept_policy,
    };
  });
  router.post('/accept', async (ctx) => {
    const { token, account } = await readJson(ctx, acceptBody);
    // Naming the accepting account is the product's back end speaking: it takes a server key of the invitation's tenant.
    const principal = account ? await serverKeyOf(deps, ctx.get('authorization')) : undefined;
    const outcome = await acceptByToken(deps, token, { account, tenantId: principal?.tenantId });
    ctx.body = { invitationId: outcome.invitationId, status: 'accepted', redirectUrl: outcome.redirectUrl };
  });
  router.post('/decline', async (ctx) => {
    const { token } = await readJson(ctx, tokenBody);
    const outcome = await declineByToken(deps, token);
    ctx.body = { invitationId: outcome.invitationId, status: 'declined' };
  });
  return router;
}

export function invitationRoutes(deps: InvitationDeps): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>({ prefix: '/v1/invitations' });
  router.use(requireApiKey(deps.db), requireInvitationScope());

  router.post('/', async (ctx) => {
    const principal = ctx.state.principal;
    // A header sent empty is a key that is not one (400), not a request without a key.
    const key = ctx.headers['idempotency-key'] !== undefined ? parse(idempotencyKey, ctx.get('idempotency-key')) : undefined;
    const body = await readJson(ctx, createInvitationBody);
    const inviter = await inviterFor(deps, principal, body.inviter);

    const created = await createInvitation(deps, {
      tenantId: principal.tenantId,
      email: body.email,
      role: { slug: body.role },
      inviterUserId: inviter.id,
      message: body.message,
      firstName: body.firstName,
      lastName: body.lastName,
      redirectUrl: body.redirectUrl,
      language: body.language,
      expiresInDays: body.expiresInDays,
      sendEmail: body.sendEmail,
      origin: 'api',
      actor: keyActor(ctx.state),
      idempotencyKey: key,
      maxRank: principal.ceilingRank,
    });
    const [view] = await toViews(deps.db, [created.invitation]);
    ctx.status = 201;
    ctx.set('Location', `/v1/invitations/${created.invitation.id}`);
    if (created.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = { ...view, ...(created.acceptUrl ? { acceptUrl: created.acceptUrl } : {}) };
  });

  router.get('/', async (ctx) => {
    const q = parse(listInvitationsQuery, ctx.query);
    const page = await keysetPage(q, (window) =>
      listInvitations(deps.db, {
        tenantId: ctx.state.principal.tenantId,
        status: q.status,
        emailCanonical: q.email ? canonicalEmail(q.email) : undefined,
        ...window,
      }),
    );
    ctx.body = { data: await toViews(deps.db, page.rows), nextCursor: page.nextCursor };
  });

  router.get('/:id', async (ctx) => {
    const id = parse(idParam, ctx.params.id);
    const invitation = await findInvitation(deps.db, ctx.state.principal.tenantId, id);
    if (!invitation) throw new UsherError('not-found', 'no such invitation');
    const [view] = await toViews(deps.db, [invitation]);
    const nextReminderAt = invitation.status === 'pending' ? await nextReminderOf(deps.workflows, invitation) : null;
    ctx.body = { ...view, nextReminderAt, timeline: await timelineOf(deps.db, id) };
  });

  router.post('/:id/resend', async (ctx) => {
    const id = parse(idParam, ctx.params.id);
    const body = await readJson(ctx, resendBody, { optional: true });
    const { acceptUrl } = await resendInvitation(deps, {
      tenantId: ctx.state.principal.tenantId,
      id,
      actor: keyActor(ctx.state),
      expiresInDays: body.expiresInDays,
      maxRank: ctx.state.principal.ceilingRank,
    });
    const invitation = await findInvitation(deps.db, ctx.state.principal.tenantId, id);
    const [view] = await toViews(deps.db, invitation ? [invitation] : []);
    ctx.body = { ...view, ...(acceptUrl ? { acceptUrl } : {}) };
  });

  router.patch('/:id', async (ctx) => {
    const id = parse(idParam, ctx.params.id);
    const body = await readJson(ctx, editBody);
    await editInvitation(deps, { tenantId: ctx.state.principal.tenantId, id, actor: keyActor(ctx.state), maxRank: ctx.state.principal.ceilingRank, ...body });
    const invitation = await findInvitation(deps.db, ctx.state.principal.tenantId, id);
    const [view] = await toViews(deps.db, invitation ? [invitation] : []);
    ctx.body = view;
  });

  router.post('/:id/revoke', async (ctx) => {
    const id = parse(idParam, ctx.params.id);
    const body = await readJson(ctx, revokeBody, { optional: true });
    await revokeInvitation(deps, { tenantId: ctx.state.principal.tenantId, id, actor: keyActor(ctx.state), reason: body.reason });
    const invitation = await findInvitation(deps.db, ctx.state.principal.tenantId, id);
    const [view] = await toViews(deps.db, invitation ? [invitation] : []);
    ctx.body = view;
  });

  return router;
}

/**
 * Who invites. A member key acts as its own user, so naming anyone else is 403; a server key (a product's back end)
 * may name any member, whose own rank is then judged too, under the key's ceiling.
 */
async function inviterFor(deps: InvitationDeps, principal: ApiKeyPrincipal, named: string | undefined): Promise<{ id: string }> {
  if (!named) return { id: principal.userId };
  const inviter = named.includes('@')
    ? await findUserByEmail(deps.db, principal.tenantId, named)
    : await findUserById(deps.db, principal.tenantId, parse(inviterId, { inviter: named }).inviter);
  if (principal.kind === 'member' && inviter?.id !== principal.userId) {
    throw new UsherError('forbidden', 'a member key invites as its own user; naming another inviter takes a server key', { field: 'inviter' });
  }
  if (!inviter) throw new UsherError('invalid-request', 'inviter: no such user in this tenant', { errors: [{ path: 'inviter', message: 'unknown user' }] });
  return inviter;
}

async function serverKeyOf(deps: InvitationDeps, authorization: string): Promise<ApiKeyPrincipal> {
  const secret = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  const principal = secret ? await findApiKeyPrincipal(deps.db, secret) : undefined;
  if (!principal) throw new UsherError('unauthorized', 'naming the accepting account takes a server API key: "Authorization: Bearer <key>"');
  if (principal.kind !== 'server') throw new UsherError('forbidden', 'naming the accepting account takes a server key; a member key acts as its own user');
  if (!principal.scopes.includes('invitations:write')) throw new UsherError('missing-scope', 'this API key lacks the scope invitations:write', { scope: 'invitations:write' });
  return principal;
}
