import Router from '@koa/router';
import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { readRawBody } from '../../http/body';
import { addCredential, verifyIdentifierSecret, verifyToken, type CompatPrincipal } from '../../db/compat-credentials';
import type { Tenant } from '../../db/database';
import { findTenant } from '../../db/tenants';
import { UsherError } from '../../lib/errors';
import { createInvitation } from '../../invitations/create-invitation';
import { canonicalEmail, emailAddress } from '../../lib/email-address';
import { newSecret, sameSecret } from '../../lib/crypto';

/**
 * Akana API Platform `POST /api/users/invitations` (seed 003): a logged-in platform user invites one or more people
 * by email. The session is the `AtmoAuthToken_{tenant}` cookie; the CSRF header `X-Csrf-Token_{tenant}` must carry
 * the session's token when the tenant requires it. Every address becomes one createInvitation call (origin `akana`);
 * the answer is the JSON array of the addresses that now have an open invitation. See docs/compat/akana.md.
 */
export const AKANA_PATH = '/api/users/invitations';

/** The media types Akana names for this call, in the order `Accept: *\/*` picks them. */
export const AKANA_MEDIA_TYPES = [
  'application/json',
  'application/vnd.soa.v71+json',
  'application/vnd.soa.v72+json',
  'application/vnd.soa.v80+json',
  'application/vnd.soa.v81+json',
] as const;

/** Addresses one request may carry; more is a 400 (Akana documents no limit; this keeps one request short). */
export const AKANA_MAX_ADDRESSES = 100;
const MAX_MESSAGE = 5000;
const MAX_BODY_BYTES = 256 * 1024;

const SESSION_COOKIE = /^AtmoAuthToken_(.+)$/;
const SOA_VERSION = /^application\/vnd\.soa\.v[^+]*\+json$/;

/** A refusal in Akana's terms: the status plus a short JSON body; never problem+json. */
class AkanaError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 406 | 415 | 500,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function akanaRoutes(deps: InvitationDeps): Router {
  const router = new Router();

  // Akana's POST /api/login: email and password give the session cookie and, for CSRF prevention, the token cookie
  // whose value the client echoes in X-Csrf-Token_{tenant}.
  router.post('/api/login', async (ctx) => {
    try {
      await login(deps, ctx);
    } catch (err) {
      refuse(deps, ctx, err);
    }
  });

  router.post(AKANA_PATH, async (ctx) => {
    try {
      await invite(deps, ctx);
    } catch (err) {
      refuse(deps, ctx, err);
    }
  });
  // Other methods on the resource, and anything below it, answer in Akana's shape rather than problem+json.
  router.all(AKANA_PATH, (ctx) => {
    ctx.set('Allow', 'POST');
    refuse(deps, ctx, new AkanaError(405, `${ctx.method} is not supported on ${AKANA_PATH}; use POST`));
  });
  router.all(`${AKANA_PATH}/*rest`, (ctx) => {
    refuse(deps, ctx, new AkanaError(404, `The resource could not be found: ${ctx.path}`));
  });
  return router;
}

async function invite(deps: InvitationDeps, ctx: Context): Promise<void> {
  const { principal, tenant } = await authenticate(deps, ctx);
  const responseType = negotiate(ctx);
  const request = parseRequest(await readBody(ctx));

  const invited: string[] = [];
  for (const email of request.addresses) {
    try {
      await createInvitation(deps, {
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
      // An address that already has an open invitation is invited: a retried request answers as the first did.
      if (err instanceof UsherError && err.code === 'open-invitation-exists') invited.push(email);
      // A member is not invited again; the address is left out of the answer.
      else if (err instanceof UsherError && err.code === 'already-member') continue;
      else throw withProgress(toAkanaError(deps, ctx, err), invited.length, request.addresses.length);
    }
  }
  ctx.status = 200;
  ctx.type = responseType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = invited;
}

const SESSION_MINUTES = 30;

async function login(deps: InvitationDeps, ctx: Context): Promise<void> {
  const responseType = negotiate(ctx);
  const body = await readBody(ctx);
  const { email, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof email !== 'string' || typeof password !== 'string' || email === '' || password === '') {
    throw new AkanaError(400, 'email and password are required');
  }
  const principal = await verifyIdentifierSecret(deps.db, 'akana-password', canonicalEmail(email), password, { now: deps.clock() });
  const tenant = principal?.userId ? await findTenant(deps.db, principal.tenantId) : undefined;
  if (!principal?.userId || !tenant) throw new AkanaError(401, 'Unauthorized: the email or password is not valid');
  const session = newSecret(24);
  const csrf = newSecret(18);
  const expires = new Date(deps.clock().getTime() + SESSION_MINUTES * 60_000);
  await addCredential(deps.db, { tenantId: tenant.id, kind: 'akana-session', token: session, userId: principal.userId, data: { csrf }, expiresAt: expires });
  const cookie = { path: '/', expires, sameSite: 'lax' as const, overwrite: true };
  ctx.cookies.set(`AtmoAuthToken_${tenant.slug}`, session, { ...cookie, httpOnly: true });
  ctx.cookies.set(`Csrf-Token_${tenant.slug}`, csrf, { ...cookie, httpOnly: false });
  ctx.status = 200;
  ctx.type = responseType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { userName: email, userFDN: `${principal.userId}.${tenant.slug}`, fedMemberID: tenant.slug, expirationTime: expires.getTime() };
}

/** The session cookie names its tenant; only a live session of that tenant, with a user, counts. */
async function authenticate(deps: InvitationDeps, ctx: Context): Promise<{ principal: CompatPrincipal & { userId: string }; tenant: Tenant }> {
  const sessions = sessionCookies(ctx.get('cookie'));
  // A browser may hold sessions for several tenants; the one the CSRF header names is tried first.
  sessions.sort((a, b) => Number(Boolean(ctx.get(csrfHeader(b.tenant)))) - Number(Boolean(ctx.get(csrfHeader(a.tenant)))));
  for (const session of sessions) {
    const principal = await verifyToken(deps.db, 'akana-session', session.token, { now: deps.clock() });
    if (!principal?.userId) continue;
    const tenant = await findTenant(deps.db, principal.tenantId);
    if (!tenant || tenant.slug !== session.tenant) continue;
    if (tenant.akana_requires_csrf) {
      const sent = ctx.get(csrfHeader(tenant.slug));
      if (!sent) throw new AkanaError(401, `Unauthorized: the ${csrfHeader(tenant.slug)} header is required`);
      if (!sameSecret(sent, typeof principal.data.csrf === 'string' ? principal.data.csrf : undefined)) throw new AkanaError(401, `Unauthorized: the ${csrfHeader(tenant.slug)} header is invalid or expired`);
    }
    return { principal: { ...principal, userId: principal.userId }, tenant };
  }
  throw new AkanaError(401, 'Unauthorized: log in first (no valid AtmoAuthToken session cookie)');
}

const csrfHeader = (tenant: string): string => `X-Csrf-Token_${tenant}`;

function sessionCookies(header: string): { tenant: string; token: string }[] {
  const found: { tenant: string; token: string }[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = SESSION_COOKIE.exec(part.slice(0, eq).trim());
    if (!name) continue;
    let token = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      token = decodeURIComponent(token);
    } catch {
      // kept as sent
    }
    if (token) found.push({ tenant: name[1]!, token });
  }
  return found;
}


/** The response type the client asked for; an API version Akana does not have is its documented 404. */
function negotiate(ctx: Context): string {
  const chosen = ctx.accepts(...AKANA_MEDIA_TYPES);
  if (chosen) return chosen;
  if (/vnd\.soa\.v/i.test(ctx.get('accept'))) throw new AkanaError(404, `Unknown API version in Accept: ${ctx.get('accept')}`);
  throw new AkanaError(406, `Not acceptable; accept one of ${AKANA_MEDIA_TYPES.join(', ')}`);
}

async function readBody(ctx: Context): Promise<unknown> {
  const type = ctx.request.type.toLowerCase();
  if (type !== '' && !(AKANA_MEDIA_TYPES as readonly string[]).includes(type)) {
    if (SOA_VERSION.test(type)) throw new AkanaError(404, `Unknown API version in Content-Type: ${type}`);
    throw new AkanaError(415, `Unsupported Content-Type ${type}; send one of ${AKANA_MEDIA_TYPES.join(', ')}`);
  }
  let raw: string;
  try {
    raw = await readRawBody(ctx, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof UsherError && err.code === 'payload-too-large') throw new AkanaError(400, `The request body may be at most ${MAX_BODY_BYTES} bytes`);
    throw err;
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new AkanaError(400, 'The request body is not valid JSON; send a UserInviteRequest');
  }
}

/**
 * A UserInviteRequest: `EmailAddresses` (an array; an element, or a plain string, may list several addresses
 * separated by commas) and an optional `Message`. Every address is checked before any invitation is made.
 */
function parseRequest(body: unknown): { addresses: string[]; message: string | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AkanaError(400, 'The body must be a UserInviteRequest object');
  const { EmailAddresses: list, Message: message } = body as Record<string, unknown>;
  const items = typeof list === 'string' ? [list] : list;
  if (!Array.isArray(items) || items.some((v) => typeof v !== 'string')) {
    throw new AkanaError(400, 'EmailAddresses is required: an array of email addresses');
  }
  if (message !== undefined && message !== null && typeof message !== 'string') throw new AkanaError(400, 'Message must be a string');
  if (typeof message === 'string' && message.length > MAX_MESSAGE) throw new AkanaError(400, `Message may be at most ${MAX_MESSAGE} characters`);

  const addresses: string[] = [];
  const seen = new Set<string>();
  const invalid: string[] = [];
  for (const item of items as string[]) {
    for (const piece of item.split(',')) {
      const address = piece.trim();
      if (address === '') continue;
      if (!emailAddress.safeParse(address).success) {
        invalid.push(address);
        continue;
      }
      const canonical = canonicalEmail(address);
      if (seen.has(canonical)) continue;
      seen.add(canonical);
      addresses.push(address);
    }
  }
  if (invalid.length > 0) {
    throw new AkanaError(400, `Not valid email address(es), nobody was invited: ${invalid.join(', ')}`, { InvalidEmailAddresses: invalid });
  }
  if (addresses.length === 0) throw new AkanaError(400, 'EmailAddresses must list at least one email address');
  if (addresses.length > AKANA_MAX_ADDRESSES) throw new AkanaError(400, `At most ${AKANA_MAX_ADDRESSES} email addresses per request`);
  return { addresses, message: typeof message === 'string' && message.trim() !== '' ? message : null };
}

/** After some addresses were invited, a refusal says so: those invitations stand, and a retry answers them as invited. */
function withProgress(err: AkanaError, done: number, total: number): AkanaError {
  if (done === 0) return err;
  const note = ` (${done} of ${total} addresses were invited before this one; repeating the request is safe: they answer as invited)`;
  return new AkanaError(err.status, `${err.message}${note}`, err.extra);
}

/** The core's refusals in Akana's documented statuses. */
function toAkanaError(deps: InvitationDeps, ctx: Context, err: unknown): AkanaError {
  if (err instanceof AkanaError) return err;
  if (err instanceof UsherError) {
    switch (err.code) {
      case 'invitations-disabled':
        return new AkanaError(401, 'Unauthorized: inviting users is disabled in the platform settings');
      case 'inviter-not-allowed':
      case 'role-too-high':
        return new AkanaError(401, `Unauthorized: ${err.message}`);
      case 'invalid-request':
      case 'malformed-json':
      case 'redirect-not-allowed':
        return new AkanaError(400, err.message);
      case 'not-found':
        return new AkanaError(404, `The resource could not be found: ${err.message}`);
      case 'temporal-unavailable':
        return new AkanaError(500, 'An error occurred processing the call: the workflow service is unavailable; no invitation was stored for this address');
      default:
        break;
    }
  }
  deps.log.error('akana invite failed', { requestId: ctx.state.requestId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new AkanaError(500, 'An error occurred processing the call');
}

function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const error = toAkanaError(deps, ctx, err);
  ctx.status = error.status;
  ctx.type = 'application/json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { code: error.status, message: error.message, ...error.extra };
}
