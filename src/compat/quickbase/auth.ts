import { type CompatPrincipal, tenantsWithLiveCredential, verifyIdentifierSecret, verifyToken } from '../../db/compat-credentials';
import type { Db } from '../../db/connect';
import type { Tenant } from '../../db/database';
import type { InvitationDeps } from '../../invitations/deps';
import { sha256 } from '../../lib/crypto';
import type { LoginLimiter } from '../login-limit';
import { QuickbaseError } from './errors';
import type { Params } from './request';

/** A user credential as a Quickbase request presents it. */
export type Presented =
  | { kind: 'quickbase-user-token'; token: string }
  | { kind: 'quickbase-ticket'; token: string }
  | { kind: 'quickbase-password'; username: string; password: string };

/** Usernames are stored lower-cased (they are email addresses in Usher's Quickbase tenants). */
const lookupOf = (presented: Presented): string =>
  presented.kind === 'quickbase-password' ? presented.username.toLowerCase() : sha256(presented.token);

/** The credential, if it is live in this tenant. */
async function verifyIn(db: Db, presented: Presented, tenantId: string, now: Date): Promise<CompatPrincipal | undefined> {
  if (presented.kind === 'quickbase-password') {
    return verifyIdentifierSecret(db, presented.kind, presented.username.toLowerCase(), presented.password, { tenantId, now });
  }
  return verifyToken(db, presented.kind, presented.token, { tenantId, now });
}

/**
 * The tenants where this credential is live. A Quickbase user is global and apps are separate, so a request whose
 * credential is good but belongs to another app is "insufficient permissions", not "bad ticket"; and API_Authenticate
 * on /db/main (no app named) must find the one tenant the username and password belong to.
 */
export async function tenantsAccepting(db: Db, presented: Presented, now: Date, options: { except?: string } = {}): Promise<CompatPrincipal[]> {
  const tenantIds = await tenantsWithLiveCredential(db, { kind: presented.kind, lookup: lookupOf(presented), now, except: options.except, limit: 10 });
  if (tenantIds.length === 0 && presented.kind === 'quickbase-password' && !options.except) {
    // An unknown username must cost what a wrong password costs, or the answer's timing names the users who exist.
    await verifyIdentifierSecret(db, presented.kind, lookupOf(presented), presented.password, { now });
    return [];
  }
  const found: CompatPrincipal[] = [];
  for (const tenant_id of tenantIds) {
    const principal = await verifyIn(db, presented, tenant_id, now);
    if (principal) found.push(principal);
  }
  return found;
}

/** Where a password attempt comes from, for the login limit. */
export interface Attempt {
  logins: LoginLimiter;
  ip: string;
}

/**
 * Password guesses are throttled before the password is hashed, per client address and per username (see
 * login-limit.ts). Quickbase answers its own API limits with errcode 77, "API request limit exceeded", still HTTP 200.
 */
export function limitPasswordAttempt(attempt: Attempt, presented: Presented): void {
  if (presented.kind !== 'quickbase-password') return;
  const verdict = attempt.logins.take(attempt.ip, `quickbase:${lookupOf(presented)}`);
  if (!verdict.ok) {
    throw new QuickbaseError(77, `too many sign-in attempts; retry in ${verdict.retryAfterSeconds} s`, { retryAfterSeconds: verdict.retryAfterSeconds });
  }
}

/**
 * Who is calling: a user token, username + password, or a ticket, in that order of precedence. Username and password
 * win over a ticket: a client re-authenticating sends its stale ticket along (pyintuition sends `<ticket>None</ticket>`),
 * and answering "bad ticket" would send it round the same loop. A credential that is good only for another application
 * is "insufficient permissions" (the user exists but may not use this app).
 */
export async function signIn(deps: InvitationDeps, tenant: Tenant, params: Params, attempt: Attempt): Promise<{ principal: CompatPrincipal; presented: Presented }> {
  const presented = presentedCredential(params);
  if (!presented) throw new QuickbaseError(22, 'authenticate with a ticket, a usertoken, or username and password');
  limitPasswordAttempt(attempt, presented);
  const now = deps.clock();
  const principal = await verifyIn(deps.db, presented, tenant.id, now);
  if (!principal) {
    if ((await tenantsAccepting(deps.db, presented, now, { except: tenant.id })).length > 0) {
      throw new QuickbaseError(3, 'you do not have access to this application');
    }
    throw refusedCredential(presented);
  }
  if (!principal.userId) throw new QuickbaseError(3, 'this credential does not act for a user of this application');
  return { principal, presented };
}

export function presentedCredential(params: Params): Presented | undefined {
  const usertoken = params.one('usertoken')?.trim();
  if (usertoken) return { kind: 'quickbase-user-token', token: usertoken };
  const username = params.one('username')?.trim();
  if (username) return { kind: 'quickbase-password', username, password: params.one('password') ?? '' };
  const ticket = params.one('ticket')?.trim();
  if (ticket) return { kind: 'quickbase-ticket', token: ticket };
  return undefined;
}

export function refusedCredential(presented: Presented): QuickbaseError {
  if (presented.kind === 'quickbase-password') return new QuickbaseError(20, 'no user account matches this username and password');
  if (presented.kind === 'quickbase-user-token') return new QuickbaseError(4, 'the user token is invalid, inactive or revoked');
  return new QuickbaseError(4, 'your ticket has expired or is invalid; call API_Authenticate again');
}

/**
 * Application tokens, where the app requires them. As in Quickbase, a request authenticated by a user token needs
 * none (user tokens carry their own app assignment); tickets and username/password do. When the app does not require
 * one, a supplied token is ignored.
 */
export async function checkAppToken(deps: InvitationDeps, tenant: Tenant, presented: Presented, params: Params): Promise<void> {
  if (!tenant.quickbase_requires_app_token || presented.kind === 'quickbase-user-token') return;
  const apptoken = params.one('apptoken')?.trim();
  if (!apptoken) throw new QuickbaseError(24, 'this application requires an application token (apptoken)');
  if (!(await verifyToken(deps.db, 'quickbase-app-token', apptoken, { tenantId: tenant.id, now: deps.clock() }))) {
    throw new QuickbaseError(24, 'the application token is not valid for this application');
  }
}
