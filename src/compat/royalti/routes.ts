import Router from '@koa/router';
import { decodeJwt, errors as joseErrors, importSPKI, importX509, jwtVerify, type JWTPayload } from 'jose';
import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { readRawBody } from '../../http/body';
import type { Tenant } from '../../db/database';
import { findUserByEmail, findUserById } from '../../db/users';
import { findTenantByRoyaltiWorkspace } from '../../db/tenants';
import { UsherError } from '../../lib/errors';
import { createInvitation } from '../../invitations/create-invitation';
import { canonicalEmail, emailAddress } from '../../lib/email-address';

/**
 * Royalti `POST /auth/invite?workspaceId=&userId=` (seed 004): a bearer JWT, verified with the workspace's key,
 * invites one person by email. The workspace is the `workspaceId` query parameter, else the token's `workspaceId`
 * claim; the token's `sub` is the inviter. One createInvitation call (origin `royalti`); 201 with Royalti's message.
 * Every refusal is `{ "message": … }` with 400, 401, 404 or 500. See docs/compat/royalti.md.
 */
export const ROYALTI_PATH = '/auth/invite';
export const ROYALTI_EMAIL_SENT = 'Successful, Email verification Instructions have been sent to your email';
export const ROYALTI_LINK_ONLY = 'Successful, the invitation was created and no email was sent; give the invitee the acceptUrl';

const MAX_BODY_BYTES = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

class RoyaltiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 500,
    message: string,
  ) {
    super(message);
  }
}

interface RoyaltiRequest {
  email: string;
  sendEmail: boolean;
  message: string | null;
  firstName: string | null;
  lastName: string | null;
  redirectUrl: string | null;
  role: string | null;
}

export function royaltiRoutes(deps: InvitationDeps): Router {
  const router = new Router();
  router.post(ROYALTI_PATH, async (ctx) => {
    try {
      await invite(deps, ctx);
    } catch (err) {
      refuse(deps, ctx, err);
    }
  });
  router.all(ROYALTI_PATH, (ctx) => {
    ctx.set('Allow', 'POST');
    refuse(deps, ctx, new RoyaltiError(405, `${ctx.method} is not supported on ${ROYALTI_PATH}; use POST`));
  });
  return router;
}

async function invite(deps: InvitationDeps, ctx: Context): Promise<void> {
  const { tenant, inviterUserId, subject } = await authenticate(deps, ctx);
  const request = parseBody(await readBody(ctx));
  await checkInvitee(deps, ctx, tenant, request.email);

  let created;
  try {
    created = await createInvitation(deps, {
      tenantId: tenant.id,
      email: request.email,
      ...(request.role ? { role: { slug: request.role } } : {}),
      inviterUserId,
      message: request.message,
      firstName: request.firstName,
      lastName: request.lastName,
      redirectUrl: request.redirectUrl,
      sendEmail: request.sendEmail,
      origin: 'royalti',
      actor: `royalti-jwt:${subject}`,
    });
  } catch (err) {
    throw toRoyaltiError(deps, ctx, err, request);
  }
  ctx.status = 201;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = created.acceptUrl ? { message: ROYALTI_LINK_ONLY, acceptUrl: created.acceptUrl } : { message: ROYALTI_EMAIL_SENT };
}

/** Bearer JWT → workspace (query, else claim) → its key verifies the token → `sub` (else the `email` claim) is the inviter. */
async function authenticate(deps: InvitationDeps, ctx: Context): Promise<{ tenant: Tenant; inviterUserId: string; subject: string }> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (!match) throw new RoyaltiError(401, 'Unauthorized: send a bearer token in the Authorization header');
  const token = match[1]!;
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    throw new RoyaltiError(401, 'Unauthorized: the bearer token is not a JWT');
  }

  const fromQuery = singleQuery(ctx, 'workspaceId');
  const fromClaim = typeof unverified.workspaceId === 'string' && unverified.workspaceId !== '' ? unverified.workspaceId : undefined;
  const workspaceId = fromQuery ?? fromClaim;
  if (!workspaceId) throw new RoyaltiError(400, 'workspaceId is required (query parameter or token claim)');
  const tenant = await findTenantByRoyaltiWorkspace(deps.db, workspaceId);
  if (!tenant) throw new RoyaltiError(404, `Workspace not found: ${workspaceId}`);
  if (!tenant.royalti_jwt_key) throw new RoyaltiError(401, 'Unauthorized: this workspace accepts no Royalti tokens');

  let payload: JWTPayload;
  try {
    payload = await verifyJwt(token, tenant.royalti_jwt_key, deps.clock());
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new RoyaltiError(401, 'Unauthorized: the token has expired');
    throw new RoyaltiError(401, 'Unauthorized: the token is not valid for this workspace');
  }
  if (typeof payload.workspaceId === 'string' && payload.workspaceId !== '' && payload.workspaceId !== workspaceId) {
    throw new RoyaltiError(401, 'Unauthorized: the token was issued for another workspace');
  }

  const sub = typeof payload.sub === 'string' ? payload.sub : '';
  const bySub = UUID.test(sub) ? await findUserById(deps.db, tenant.id, sub) : undefined;
  const byEmail = !bySub && typeof payload.email === 'string' && payload.email !== '' ? await findUserByEmail(deps.db, tenant.id, payload.email) : undefined;
  const inviter = bySub ?? byEmail;
  if (!inviter) throw new RoyaltiError(401, 'Unauthorized: the token names no user of this workspace');
  return { tenant, inviterUserId: inviter.id, subject: sub || inviter.id };
}

async function verifyJwt(token: string, key: string, now: Date): Promise<JWTPayload> {
  const options = { currentDate: now, clockTolerance: 30 };
  if (key.includes('-----BEGIN')) {
    const certificate = key.includes('BEGIN CERTIFICATE');
    const { payload } = await jwtVerify(token, (header) => (certificate ? importX509(key, header.alg) : importSPKI(key, header.alg)), {
      ...options,
      algorithms: PUBLIC_KEY_ALGORITHMS,
    });
    return payload;
  }
  const { payload } = await jwtVerify(token, new TextEncoder().encode(key), { ...options, algorithms: HMAC_ALGORITHMS });
  return payload;
}

function singleQuery(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new RoyaltiError(400, `${name} may be given once`);
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

async function readBody(ctx: Context): Promise<unknown> {
  const type = ctx.request.type.toLowerCase();
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new RoyaltiError(400, `Content-Type must be application/json, not ${type}`);
  }
  let raw: string;
  try {
    raw = await readRawBody(ctx, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof UsherError && err.code === 'payload-too-large') throw new RoyaltiError(400, `The request body may be at most ${MAX_BODY_BYTES} bytes`);
    throw err;
  }
  if (raw.trim() === '') throw new RoyaltiError(400, 'Missing fields: email is required');
  try {
    return JSON.parse(raw);
  } catch {
    throw new RoyaltiError(400, 'The request body is not valid JSON');
  }
}

/** The documented fields; others are ignored, as the original ignores them. Empty strings count as absent. */
function parseBody(body: unknown): RoyaltiRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RoyaltiError(400, 'The request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const text = (field: string, max: number): string | null => {
    const value = b[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') throw new RoyaltiError(400, `${field} must be a string`);
    if (value.length > max) throw new RoyaltiError(400, `${field} may be at most ${max} characters`);
    return value.trim() === '' ? null : value;
  };
  const email = text('email', 254);
  if (!email) throw new RoyaltiError(400, 'Missing fields: email is required');
  if (!emailAddress.safeParse(email.trim()).success) throw new RoyaltiError(400, 'email must be a valid email address');

  let sendEmail = true;
  const rawSend = b.sendEmail;
  if (rawSend === false || rawSend === 'false') sendEmail = false;
  else if (!(rawSend === undefined || rawSend === null || rawSend === true || rawSend === 'true')) throw new RoyaltiError(400, 'sendEmail must be true or false');

  return {
    email: email.trim(),
    sendEmail,
    message: text('message', 5000),
    firstName: text('firstName', 200),
    lastName: text('lastName', 200),
    redirectUrl: text('redirect_url', 2048)?.trim() ?? null,
    role: text('role', 100)?.trim() ?? null,
  };
}

/** `userId`, when given, names the invitee's existing user record in the workspace: it must be the one for `email`. */
async function checkInvitee(deps: InvitationDeps, ctx: Context, tenant: Tenant, email: string): Promise<void> {
  const userId = singleQuery(ctx, 'userId');
  if (!userId) return;
  const user = UUID.test(userId) ? await findUserById(deps.db, tenant.id, userId) : undefined;
  if (!user) throw new RoyaltiError(404, `User not found in this workspace: ${userId}`);
  if (user.email_canonical !== canonicalEmail(email)) throw new RoyaltiError(400, `userId ${userId} belongs to another email address than ${email}`);
}

/** The core's refusals in Royalti's documented statuses (400, 401, 404, 500). */
function toRoyaltiError(deps: InvitationDeps, ctx: Context, err: unknown, request?: RoyaltiRequest): RoyaltiError {
  if (err instanceof RoyaltiError) return err;
  if (err instanceof UsherError) {
    switch (err.code) {
      case 'invalid-request':
        return new RoyaltiError(400, err.extra.field === 'role' && request?.role ? `Unknown role: ${request.role}` : err.message);
      case 'redirect-not-allowed':
        return new RoyaltiError(400, `redirect_url is not allowed for this workspace: ${request?.redirectUrl ?? ''}`);
      case 'already-member':
        return new RoyaltiError(400, `${request?.email ?? 'This person'} is already a member of this workspace`);
      case 'open-invitation-exists':
        return new RoyaltiError(400, `${request?.email ?? 'This person'} already has a pending invitation to this workspace`);
      case 'invitations-disabled':
        return new RoyaltiError(401, 'Unauthorized: invitations are switched off for this workspace');
      case 'inviter-not-allowed':
        return new RoyaltiError(401, 'Unauthorized: the token user is not a member of this workspace');
      case 'role-too-high':
        return new RoyaltiError(401, `Unauthorized: you may not grant the role ${request?.role ?? ''} (it is above your own)`);
      case 'not-found':
        return new RoyaltiError(404, 'Workspace not found');
      case 'temporal-unavailable':
        return new RoyaltiError(500, 'Internal Server Error: the workflow service is unavailable; nothing was stored, try again');
      default:
        break;
    }
  }
  deps.log.error('royalti invite failed', { requestId: ctx.state.requestId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new RoyaltiError(500, 'Internal Server Error');
}

function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const error = toRoyaltiError(deps, ctx, err);
  ctx.status = error.status;
  ctx.type = 'application/json';
  ctx.set('Cache-Control', 'no-store');
  if (error.status === 401) ctx.set('WWW-Authenticate', 'Bearer');
  ctx.body = { message: error.message };
}
