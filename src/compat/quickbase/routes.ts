import type { Admission } from '../../http/admission';
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { InvitationDeps } from '../../invitations/deps';
import { addCredential, type CompatPrincipal } from '../../db/compat-credentials';
import type { Tenant, User } from '../../db/database';
import { findTenantByQuickbaseDbid } from '../../db/tenants';
import { findUserByExternalId, findUserById } from '../../db/users';
import { newSecret } from '../../lib/crypto';
import { UsherError } from '../../lib/errors';
import { seedRoutes } from '../adapter';
import type { LoginLimiter } from '../login-limit';
import { inviteOrResend } from '../repeat';
import { type Attempt, checkAppToken, limitPasswordAttempt, presentedCredential, refusedCredential, signIn, tenantsAccepting } from './auth';
import { asQuickbaseError, QuickbaseError, type QuickbaseErrorCode, quickbaseErrors } from './errors';
import { actionOf, type Params, paramsOf, withBody } from './request';
import { renderQdbapi } from './xml';

/**
 * Quickbase's XML API at its own address, for the two calls an inviting client makes:
 *  - `API_SendInvitation` on `/db/<dbid>`: the dbid names the tenant, `userid` a provisioned user of it (users.external_id);
 *  - `API_Authenticate` on `/db/main` (or `/db/<dbid>`): username + password (or a ticket) → a new ticket.
 * The action comes from the QUICKBASE-ACTION header or the `a=`/`act=` query parameter; parameters from the query,
 * an XML `<qdbapi>` body or a form body. Every answer is `<qdbapi>` XML with HTTP 200, errors included, as Quickbase
 * does. Rules about who may invite whom live in createInvitation; this file only translates. See docs/compat/quickbase.md.
 */
export function quickbaseRoutes(deps: InvitationDeps, logins: LoginLimiter, admission: Admission): Router {
  return seedRoutes(admission, {
    endpoints: [{ paths: ['/db/:dbid'], methods: { GET: (ctx) => handle(deps, logins, ctx), POST: (ctx) => handle(deps, logins, ctx) } }],
    refuse: (ctx, err) => refuse(deps, ctx, err),
  });
}

async function handle(deps: InvitationDeps, logins: LoginLimiter, ctx: RouterContext): Promise<void> {
  const action = actionOf(ctx);
  const params = paramsOf(ctx);
  if (ctx.method === 'POST') await withBody(ctx, params);
  if (action === undefined) throw new QuickbaseError(2, 'no API action: send a QUICKBASE-ACTION header or an a= parameter');
  const known = actionNamed(action);
  if (known === undefined) throw new QuickbaseError(5, `${action} is not available here; this server answers API_SendInvitation and API_Authenticate`);
  const elements = await known.run(deps, { dbid: ctx.params.dbid ?? '', params, attempt: { logins, ip: ctx.ip } });
  reply(ctx, known.successAction, 0, undefined, params.first('udata'), elements);
}

function refuse(deps: InvitationDeps, ctx: RouterContext, err: unknown): void {
  const action = actionOf(ctx);
  const error = asQuickbaseError(deps, ctx, err);
  deps.log.info('quickbase request refused', { requestId: ctx.state.requestId, action, errcode: error.errcode, detail: error.errdetail });
  if (error.extra.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.extra.retryAfterSeconds));
  reply(ctx, actionNamed(action)?.name ?? action ?? '', error.errcode, error.errdetail, paramsOf(ctx).first('udata'));
}

interface Action {
  /** As Quickbase spells it in `<action>` when refusing. */
  name: string;
  /** As Quickbase spells it in `<action>` on success (API_Authenticate answers in lower case, as its docs show). */
  successAction: string;
  run(deps: InvitationDeps, call: Call): Promise<Array<[string, string]>>;
}

/** One request: the dbid in its URL, its parameters, and where it comes from (for the login limit). */
interface Call {
  dbid: string;
  params: Params;
  attempt: Attempt;
}

const ACTIONS: Record<string, Action> = {
  api_sendinvitation: { name: 'API_SendInvitation', successAction: 'API_SendInvitation', run: sendInvitation },
  api_authenticate: { name: 'API_Authenticate', successAction: 'api_authenticate', run: authenticate },
};

const actionNamed = (action: string | undefined): Action | undefined => (action === undefined ? undefined : ACTIONS[action.toLowerCase()]);

/** As /v1 limits an invitation's message. */
const MAX_USERTEXT = 5000;
/** Quickbase's ticket lifetime: 12 hours unless `hours` says otherwise, at most 4,380 hours (about six months). */
const DEFAULT_TICKET_HOURS = 12;
const MAX_TICKET_HOURS = 4380;

// ---------------------------------------------------------------------------------------------------------------
// API_SendInvitation

/**
 * Invites the user `userid` names. Calling again while their invitation is open sends that invitation again (errcode
 * 0; inside the resend limits, nothing is sent). A user who already has access gets errcode 0 and nothing else: this
 * call is documented for users granted access with API_AddUserToRole, so for them it must succeed, and an accept link
 * for access they already hold would only mislead them (see docs/compat/quickbase.md).
 */
async function sendInvitation(deps: InvitationDeps, { dbid, params, attempt }: Call): Promise<Array<[string, string]>> {
  const tenant = await tenantOf(deps, dbid);
  if (!tenant) throw dbid.toLowerCase() === 'main' ? new QuickbaseError(14, 'API_SendInvitation needs the application dbid in the URL: /db/<dbid>') : noSuchApp(dbid);
  const { principal, presented } = await signIn(deps, tenant, params, attempt);
  await checkAppToken(deps, tenant, presented, params);

  const userid = params.one('userid')?.trim();
  if (!userid) throw new QuickbaseError(2, 'missing parameter: userid');
  const usertext = params.one('usertext');
  if (usertext !== undefined && usertext.length > MAX_USERTEXT) throw new QuickbaseError(2, `usertext may be at most ${MAX_USERTEXT} characters`);
  const invitee = await userByQuickbaseId(deps, tenant.id, userid);
  if (!invitee) throw new QuickbaseError(21, `no user with userid ${userid} in this application; provision the user first`);

  try {
    await inviteOrResend(deps, {
      tenantId: tenant.id,
      email: invitee.email,
      inviterUserId: principal.userId!,
      firstName: invitee.first_name,
      lastName: invitee.last_name,
      message: usertext?.trim() ? usertext : null,
      sendEmail: true,
      origin: 'quickbase',
      actor: `quickbase:${principal.credentialId}`,
    });
  } catch (err) {
    if (!(err instanceof UsherError && err.code === 'already-member')) throw err;
    deps.log.info('quickbase: API_SendInvitation for a user who already has access; nothing sent', { tenantId: tenant.id, userid });
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------------------
// API_Authenticate

/**
 * username + password (or a live ticket) → a new ticket for that user, valid `hours` (default 12, at most 4,380).
 * On /db/main no app is named, so the credential must be live in exactly one tenant; on /db/<dbid>, in that one.
 * No application token is needed, as in Quickbase.
 */
async function authenticate(deps: InvitationDeps, { dbid, params, attempt }: Call): Promise<Array<[string, string]>> {
  const hours = ticketHours(params.one('hours'));
  const presented = presentedCredential(params);
  if (!presented || presented.kind === 'quickbase-user-token') {
    throw new QuickbaseError(20, 'API_Authenticate needs username and password (or a ticket)');
  }
  const now = deps.clock();
  let principal: CompatPrincipal | undefined;
  if (dbid.toLowerCase() === 'main') {
    limitPasswordAttempt(attempt, presented);
    const found = await tenantsAccepting(deps.db, presented, now);
    if (found.length > 1) throw new QuickbaseError(presented.kind === 'quickbase-ticket' ? 4 : 20, 'these credentials belong to several applications: call API_Authenticate on /db/<dbid>');
    principal = found[0];
  } else {
    const tenant = await tenantOf(deps, dbid);
    if (!tenant) throw noSuchApp(dbid);
    principal = (await signIn(deps, tenant, params, attempt)).principal;
  }
  if (!principal) throw refusedCredential(presented);
  if (!principal.userId) throw new QuickbaseError(3, 'these credentials do not belong to a user');

  const ticket = newSecret();
  await addCredential(deps.db, {
    tenantId: principal.tenantId,
    kind: 'quickbase-ticket',
    token: ticket,
    userId: principal.userId,
    expiresAt: new Date(now.getTime() + hours * 3_600_000),
    data: { issuedBy: 'API_Authenticate', from: principal.credentialId },
  });
  const user = await findUserById(deps.db, principal.tenantId, principal.userId);
  if (!user) throw new QuickbaseError(20, 'the user of this credential no longer exists');
  return [
    ['ticket', ticket],
    ['userid', user.external_id ?? user.id],
  ];
}

function ticketHours(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_TICKET_HOURS;
  if (!/^\s*[0-9]{1,9}\s*$/.test(raw) || Number(raw) < 1) throw new QuickbaseError(2, 'hours must be a whole number of hours, at least 1');
  return Math.min(Number(raw), MAX_TICKET_HOURS);
}

// ---------------------------------------------------------------------------------------------------------------
// Lookups

async function tenantOf(deps: InvitationDeps, dbid: string): Promise<Tenant | undefined> {
  if (dbid === '' || dbid.length > 100) return undefined;
  return findTenantByQuickbaseDbid(deps.db, dbid);
}

const noSuchApp = (dbid: string) => new QuickbaseError(32, `there is no application with dbid ${dbid}`);

/** A Quickbase userid (e.g. 112249.ctdg) is the user's external_id in the tenant. */
async function userByQuickbaseId(deps: InvitationDeps, tenantId: string, userid: string): Promise<User | undefined> {
  if (userid.length > 255) return undefined;
  return findUserByExternalId(deps.db, tenantId, userid);
}

// ---------------------------------------------------------------------------------------------------------------
// Response

function reply(ctx: RouterContext, action: string, errcode: QuickbaseErrorCode, errdetail: string | undefined, udata: string | undefined, extra: Array<[string, string]> = []): void {
  const elements: Array<[string, string]> = [
    ['action', action],
    ['errcode', String(errcode)],
    ['errtext', quickbaseErrors[errcode]],
  ];
  if (errdetail !== undefined) elements.push(['errdetail', errdetail]);
  if (udata !== undefined) elements.push(['udata', udata]);
  elements.push(...extra);
  ctx.status = 200;
  ctx.type = 'text/xml; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderQdbapi(elements);
}
