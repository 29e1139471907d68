import type { Context } from 'koa';
import { addCredential, verifyIdentifierSecret, verifyToken, type CompatPrincipal } from '../../db/compat-credentials';
import type { Tenant } from '../../db/database';
import { findTenant } from '../../db/tenants';
import type { InvitationDeps } from '../../invitations/deps';
import { newSecret, sameSecret } from '../../lib/crypto';
import { canonicalEmail } from '../../lib/email-address';
import type { LoginLimiter } from '../login-limit';
import { AkanaError } from './errors';
import { negotiate, readBody } from './request';

const SESSION_COOKIE = /^AtmoAuthToken_(.+)$/;
const SESSION_MINUTES = 30;

/**
 * Akana's POST /api/login: email and password give the session cookie and, for CSRF prevention, the token cookie
 * whose value the client echoes in X-Csrf-Token_{tenant}. Attempts are limited per client address and per account
 * before the password is checked (429 with Retry-After, in Akana's error shape).
 */
export async function login(deps: InvitationDeps, logins: LoginLimiter, ctx: Context): Promise<void> {
  const responseType = negotiate(ctx);
  const body = await readBody(ctx);
  const { email, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof email !== 'string' || typeof password !== 'string' || email === '' || password === '') {
    throw new AkanaError(400, 'email and password are required');
  }
  const verdict = logins.take(ctx.ip, `akana:${canonicalEmail(email)}`);
  if (!verdict.ok) {
    const retryAfter = String(verdict.retryAfterSeconds);
    throw new AkanaError(429, `Too many login attempts; retry in ${retryAfter} seconds`, {}, { 'Retry-After': retryAfter });
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
export async function authenticate(deps: InvitationDeps, ctx: Context): Promise<{ principal: CompatPrincipal & { userId: string }; tenant: Tenant }> {
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
