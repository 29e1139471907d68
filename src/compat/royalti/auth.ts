import { decodeJwt, errors as joseErrors, importSPKI, importX509, jwtVerify, type JWTPayload } from 'jose';
import type { Context } from 'koa';
import type { Tenant } from '../../db/database';
import { findTenantByRoyaltiWorkspace } from '../../db/tenants';
import { findUserByEmail, findUserById } from '../../db/users';
import type { InvitationDeps } from '../../invitations/deps';
import { RoyaltiError } from './errors';
import { singleQuery, UUID } from './request';

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Bearer JWT → workspace (query, else claim) → its key verifies the token → `sub` (else the `email` claim) is the inviter. */
export async function authenticate(deps: InvitationDeps, ctx: Context): Promise<{ tenant: Tenant; inviterUserId: string; subject: string }> {
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
