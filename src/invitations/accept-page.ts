import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { type ProblemCode, problems, UsherError } from '../lib/errors';
import { acceptByToken, declineByToken, lookupByToken } from './invitee-actions';
import { formatDate } from '../email/templates';
import { readRawBody } from '../http/body';
import type { InvitationDeps } from './deps';
import { escapeHtml as e, page } from '../http/html';
import { type Admission, admitted } from '../http/admission';

/**
 * The page an email link opens. GET only shows the invitation (link scanners and previews must not burn the token);
 * the buttons POST back here. Tokens sit in the path, so the page asks browsers to keep them out of Referer headers
 * and caches.
 */
export function acceptPageRoutes(deps: InvitationDeps, admission: Admission): Router {
  const router = new Router({ prefix: '/invite' });
  // The page takes its place under the API's cap inside its router, so that a full API answers the invitee a page too.
  router.use(htmlErrors, privacyHeaders, admitted(admission, () => true));

  router.get('/:token', async (ctx) => {
    const found = await lookupByToken(deps, ctx.params.token!);
    const { invitation, tenant } = found;
    const signIn = tenant.accept_policy !== 'link';
    ctx.type = 'html';
    ctx.body = page(
      `Invitation to ${tenant.name}`,
      `<h1>Join ${e(tenant.name)}</h1>
<p><strong>${e(found.inviterName)}</strong> invited <strong>${e(invitation.email)}</strong> to join <strong>${e(tenant.name)}</strong> as <strong>${e(found.roleName)}</strong>.</p>
${invitation.message ? `<blockquote>${e(invitation.message)}</blockquote>` : ''}
<form method="post">
<button class="accept" type="submit" name="decision" value="accept">${signIn ? 'Sign in to accept' : 'Accept invitation'}</button>
<button class="decline" type="submit" name="decision" value="decline">Decline</button>
</form>
<p class="muted">This invitation expires on ${e(formatDate(invitation.expires_at, invitation.language))}.</p>`,
    );
  });

  router.post('/:token', async (ctx) => {
    const form = new URLSearchParams(await readRawBody(ctx, 4096));
    const decision = form.get('decision') ?? 'accept';
    if (decision === 'decline') {
      await declineByToken(deps, ctx.params.token!);
      ctx.type = 'html';
      ctx.body = page('Invitation declined', '<h1>Invitation declined</h1><p>Thanks for letting us know. You can close this page.</p>');
      return;
    }
    if (decision !== 'accept') throw new UsherError('invalid-request', 'decision must be accept or decline');
    const found = await lookupByToken(deps, ctx.params.token!);
    if (found.tenant.accept_policy !== 'link') {
      // The page cannot tell who the invitee is: the product signs them in and accepts for that account.
      const signInUrl = signInLink(found.tenant.sign_in_url, ctx.params.token!);
      if (!signInUrl) throw new UsherError('wrong-account', 'sign in to the product to accept this invitation');
      ctx.status = 303;
      ctx.redirect(signInUrl);
      return;
    }
    const outcome = await acceptByToken(deps, ctx.params.token!);
    if (outcome.redirectUrl) {
      ctx.status = 303;
      ctx.redirect(outcome.redirectUrl);
      return;
    }
    ctx.type = 'html';
    ctx.body = page('Invitation accepted', '<h1>You are in</h1><p>Your invitation was accepted. You can close this page.</p>');
  });

  return router;
}

async function privacyHeaders(ctx: Context, next: Next) {
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  ctx.set('X-Robots-Tag', 'noindex');
  await next();
}

/**
 * What the page says of a refusal, where the problem's own words are not for an invitee. A server-side refusal gets a
 * page only if it is here: those pass, and the page asks to try again (Retry-After tells the browser when).
 */
const pages: Partial<Record<ProblemCode, { title?: string; message: string }>> = {
  'token-not-found': { message: 'This invitation link is not valid. Check that you copied the whole link.' },
  'token-gone': { message: 'This invitation link has already been used, was replaced by a newer one, or was withdrawn.' },
  'invitation-not-pending': { message: 'This invitation is no longer open.' },
  'inviter-not-allowed': { message: 'This invitation can no longer be accepted: the person who sent it may no longer grant access.' },
  'wrong-account': { message: 'Sign in to the product with the invited account to accept this invitation.' },
  busy: { title: 'Busy right now', message: 'This page is busy right now. Nothing has changed: try again in a moment.' },
  'temporal-unavailable': { title: 'Briefly unavailable', message: 'Invitations cannot be answered for a moment. Nothing has changed: try again shortly.' },
  unavailable: { title: 'Briefly unavailable', message: 'This invitation cannot be answered for a moment. Try again shortly.' },
};

/** People, not programs, read these: errors become a page with the same status. */
async function htmlErrors(ctx: Context, next: Next) {
  try {
    await next();
  } catch (err) {
    if (!(err instanceof UsherError)) throw err;
    const known = pages[err.code];
    if (err.status >= 500 && !known) throw err;
    const title = known?.title ?? problems[err.code].title;
    ctx.status = err.status;
    if (typeof err.extra.retryAfter === 'number') ctx.set('Retry-After', String(err.extra.retryAfter));
    ctx.type = 'html';
    ctx.body = page(title, `<h1>${e(title)}</h1><p>${e(known?.message ?? err.message)}</p>`);
  }
}

/** The tenant's sign-in page with the token added, for the product to accept once the invitee signed in. */
function signInLink(signInUrl: string | null, token: string): string | null {
  if (!signInUrl || !URL.canParse(signInUrl)) return null;
  const url = new URL(signInUrl);
  url.searchParams.set('token', token);
  return url.toString();
}
