import { decodeJwt, errors as joseErrors, importSPKI, importX509, jwtVerify, type JWTPayload } from 'jose';
import type { Context } from 'koa';
import { classifyRoyaltiKey } from '../../db/compat-credentials';
import type { RoyaltiKeyKind, Tenant } from '../../db/database';
import { findTenantByRoyaltiWorkspace } from '../../db/tenants';
import { findUserByEmail, findUserById } from '../../db/users';
import { unstorableText } from '../../http/body';
import type { InvitationDeps } from '../../invitations/deps';
import { RoyaltiError } from './errors';
import { singleQuery, UUID } from './request';

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/**
 * The longest a token may live, from `iat` (or from now, without one) to `exp`. A Royalti token is a bearer credential
 * an integration mints for its calls; a day covers any session or batch run, and caps what a leaked token is worth.
 * Longer-lived tokens are refused rather than trusted for a day: a client minting year-long tokens should learn now.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
const CLOCK_TOLERANCE_SECONDS = 30;

/** A workspace key that must not be used as it is stored (see keyProblem); the caller is told only "not valid". */
class UnusableKey extends Error {}

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
  // Its claims name the workspace and the inviter, both looked up: text PostgreSQL cannot store names neither.
  if (unstorableText(unverified)) throw new RoyaltiError(401, 'Unauthorized: the bearer token is not valid for this workspace');

  const fromQuery = singleQuery(ctx, 'workspaceId');
  const fromClaim = typeof unverified.workspaceId === 'string' && unverified.workspaceId !== '' ? unverified.workspaceId : undefined;
  const workspaceId = fromQuery ?? fromClaim;
  if (!workspaceId) throw new RoyaltiError(400, 'workspaceId is required (query parameter or token claim)');
  const tenant = await findTenantByRoyaltiWorkspace(deps.db, workspaceId);
  if (!tenant) throw new RoyaltiError(404, `Workspace not found: ${workspaceId}`);
  if (!tenant.royalti_jwt_key) throw new RoyaltiError(401, 'Unauthorized: this workspace accepts no Royalti tokens');

  let payload: JWTPayload;
  try {
    payload = await verifyJwt(token, tenant.royalti_jwt_key, tenant.royalti_jwt_key_kind, deps.clock());
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new RoyaltiError(401, 'Unauthorized: the token has expired');
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'exp' && err.reason === 'missing') {
      throw new RoyaltiError(401, 'Unauthorized: the token has no exp claim; tokens must expire');
    }
    if (err instanceof UnusableKey) deps.log.warn('royalti: the workspace key cannot be used as stored', { tenantId: tenant.id, reason: err.message });
    throw new RoyaltiError(401, 'Unauthorized: the token is not valid for this workspace');
  }
  checkLifetime(payload, deps.clock());
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

/**
 * Verifies with the key as its recorded kind says, and only with that kind's algorithms: an HMAC secret never checks
 * an RS/ES token, and a public key is never an HMAC secret, since anyone holding it could then mint tokens. A key
 * whose text contradicts its kind (or that has no kind) verifies nothing.
 */
async function verifyJwt(token: string, key: string, kind: RoyaltiKeyKind | null, now: Date): Promise<JWTPayload> {
  const options = { currentDate: now, clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['exp'] };
  const problem = keyProblem(key, kind);
  if (problem) throw new UnusableKey(problem);
  if (kind === 'hmac-secret') {
    return (await jwtVerify(token, new TextEncoder().encode(key), { ...options, algorithms: HMAC_ALGORITHMS })).payload;
  }
  const certificate = key.includes('-----BEGIN CERTIFICATE-----');
  const resolveKey = (header: { alg?: string }) => (certificate ? importX509(key, header.alg ?? '') : importSPKI(key, header.alg ?? ''));
  return (await jwtVerify(token, resolveKey, { ...options, algorithms: PUBLIC_KEY_ALGORITHMS })).payload;
}

function keyProblem(key: string, kind: RoyaltiKeyKind | null): string | undefined {
  const text = classifyRoyaltiKey(key);
  if (kind === 'hmac-secret') return text === 'secret' ? undefined : `recorded as an HMAC secret, but the text is ${text}: a key anyone may hold`;
  if (kind === 'public-key') return text === 'public-key' ? undefined : `recorded as a public key, but the text is ${text}`;
  return 'the key has no recorded kind';
}

/** `exp` no further than the maximum lifetime from `iat`, and from now (so a future `iat` cannot stretch it). */
function checkLifetime(payload: JWTPayload, now: Date): void {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const exp = payload.exp!;
  const issued = typeof payload.iat === 'number' ? payload.iat : nowSeconds;
  if (exp - issued > MAX_TOKEN_LIFETIME_SECONDS || exp - nowSeconds > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw new RoyaltiError(401, `Unauthorized: the token lives longer than ${MAX_TOKEN_LIFETIME_SECONDS / 3600} hours (exp - iat); mint shorter-lived tokens`);
  }
}
