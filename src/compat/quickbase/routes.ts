import Router, { type RouterContext } from '@koa/router';
import { readRawBody } from '../../http/body';
import type { InvitationDeps } from '../../invitations/deps';
import { addCredential, type CompatPrincipal, verifyToken } from '../../db/compat-credentials';
import type { Tenant, User } from '../../db/database';
import { findTenantByQuickbaseDbid } from '../../db/tenants';
import { findUserByExternalId, findUserById } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { createInvitation } from '../../invitations/create-invitation';
import { newSecret } from '../../lib/crypto';
import { type Presented, tenantsAccepting, verifyIn } from './auth';
import { fromUsherError, QuickbaseError, type QuickbaseErrorCode, quickbaseErrors } from './errors';
import { parseQdbapi, renderQdbapi, XmlParseError } from './xml';

/**
 * Quickbase's XML API at its own address, for the two calls an inviting client makes:
 *  - `API_SendInvitation` on `/db/<dbid>`: the dbid names the tenant, `userid` a provisioned user of it (users.external_id);
 *  - `API_Authenticate` on `/db/main` (or `/db/<dbid>`): username + password (or a ticket) → a new ticket.
 * The action comes from the QUICKBASE-ACTION header or the `a=`/`act=` query parameter; parameters from the query,
 * an XML `<qdbapi>` body or a form body. Every answer is `<qdbapi>` XML with HTTP 200, errors included, as Quickbase
 * does. Rules about who may invite whom live in createInvitation; this file only translates. See docs/compat/quickbase.md.
 */
export function quickbaseRoutes(deps: InvitationDeps): Router {
  const router = new Router();
  const handle = async (ctx: RouterContext) => {
    const action = actionOf(ctx);
    const known = action === undefined ? undefined : ACTIONS[action.toLowerCase()];
    let udata: string | undefined;
    try {
      const query = queryParams(ctx);
      udata = query.first('udata');
      const params = ctx.method === 'POST' ? await withBody(ctx, query) : query;
      udata = params.first('udata');
      if (action === undefined) throw new QuickbaseError(2, 'no API action: send a QUICKBASE-ACTION header or an a= parameter');
      if (known === undefined) throw new QuickbaseError(5, `${action} is not available here; this server answers API_SendInvitation and API_Authenticate`);
      const elements = await known.run(deps, ctx.params.dbid ?? '', params);
      reply(ctx, known.successAction, 0, undefined, udata, elements);
    } catch (err) {
      const error = asQuickbaseError(deps, ctx, err);
      deps.log.info('quickbase request refused', { requestId: ctx.state.requestId, action, errcode: error.errcode, detail: error.errdetail });
      reply(ctx, known?.name ?? action ?? '', error.errcode, error.errdetail, udata);
    }
  };
  router.get('/db/:dbid', handle);
  router.post('/db/:dbid', handle);
  return router;
}

interface Action {
  /** As Quickbase spells it in `<action>` when refusing. */
  name: string;
  /** As Quickbase spells it in `<action>` on success (API_Authenticate answers in lower case, as its docs show). */
  successAction: string;
  run(deps: InvitationDeps, dbid: string, params: Params): Promise<Array<[string, string]>>;
}

const ACTIONS: Record<string, Action> = {
  api_sendinvitation: { name: 'API_SendInvitation', successAction: 'API_SendInvitation', run: sendInvitation },
  api_authenticate: { name: 'API_Authenticate', successAction: 'api_authenticate', run: authenticate },
};

/** As /v1 limits an invitation's message. */
const MAX_USERTEXT = 5000;
/** Quickbase's ticket lifetime: 12 hours unless `hours` says otherwise, at most 4,380 hours (about six months). */
const DEFAULT_TICKET_HOURS = 12;
const MAX_TICKET_HOURS = 4380;

// ---------------------------------------------------------------------------------------------------------------
// API_SendInvitation

async function sendInvitation(deps: InvitationDeps, dbid: string, params: Params): Promise<Array<[string, string]>> {
  const tenant = await tenantOf(deps, dbid);
  if (!tenant) throw dbid.toLowerCase() === 'main' ? new QuickbaseError(14, 'API_SendInvitation needs the application dbid in the URL: /db/<dbid>') : noSuchApp(dbid);
  const { principal, presented } = await signIn(deps, tenant, params);
  await checkAppToken(deps, tenant, presented, params);

  const userid = params.one('userid')?.trim();
  if (!userid) throw new QuickbaseError(2, 'missing parameter: userid');
  const usertext = params.one('usertext');
  if (usertext !== undefined && usertext.length > MAX_USERTEXT) throw new QuickbaseError(2, `usertext may be at most ${MAX_USERTEXT} characters`);
  const invitee = await userByQuickbaseId(deps, tenant.id, userid);
  if (!invitee) throw new QuickbaseError(21, `no user with userid ${userid} in this application; provision the user first`);

  await createInvitation(deps, {
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
  return [];
}

/**
 * Who is calling: a user token, a ticket, or username + password, in that order of precedence. A credential that is
 * good only for another application is "insufficient permissions" (the user exists but may not use this app).
 */
async function signIn(deps: InvitationDeps, tenant: Tenant, params: Params): Promise<{ principal: CompatPrincipal; presented: Presented }> {
  const presented = presentedCredential(params);
  if (!presented) throw new QuickbaseError(22, 'authenticate with a ticket, a usertoken, or username and password');
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

function presentedCredential(params: Params): Presented | undefined {
  const usertoken = params.one('usertoken')?.trim();
  if (usertoken) return { kind: 'quickbase-user-token', token: usertoken };
  const ticket = params.one('ticket')?.trim();
  if (ticket) return { kind: 'quickbase-ticket', token: ticket };
  const username = params.one('username')?.trim();
  if (username) return { kind: 'quickbase-password', username, password: params.one('password') ?? '' };
  return undefined;
}

function refusedCredential(presented: Presented): QuickbaseError {
  if (presented.kind === 'quickbase-password') return new QuickbaseError(20, 'no user account matches this username and password');
  if (presented.kind === 'quickbase-user-token') return new QuickbaseError(4, 'the user token is invalid, inactive or revoked');
  return new QuickbaseError(4, 'your ticket has expired or is invalid; call API_Authenticate again');
}

/**
 * Application tokens, where the app requires them. As in Quickbase, a request authenticated by a user token needs
 * none (user tokens carry their own app assignment); tickets and username/password do. When the app does not require
 * one, a supplied token is ignored.
 */
async function checkAppToken(deps: InvitationDeps, tenant: Tenant, presented: Presented, params: Params): Promise<void> {
  if (!tenant.quickbase_requires_app_token || presented.kind === 'quickbase-user-token') return;
  const apptoken = params.one('apptoken')?.trim();
  if (!apptoken) throw new QuickbaseError(24, 'this application requires an application token (apptoken)');
  if (!(await verifyToken(deps.db, 'quickbase-app-token', apptoken, { tenantId: tenant.id, now: deps.clock() }))) {
    throw new QuickbaseError(24, 'the application token is not valid for this application');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// API_Authenticate

/**
 * username + password (or a live ticket) → a new ticket for that user, valid `hours` (default 12, at most 4,380).
 * On /db/main no app is named, so the credential must be live in exactly one tenant; on /db/<dbid>, in that one.
 * No application token is needed, as in Quickbase.
 */
async function authenticate(deps: InvitationDeps, dbid: string, params: Params): Promise<Array<[string, string]>> {
  const hours = ticketHours(params.one('hours'));
  const presented = presentedCredential(params);
  if (!presented || presented.kind === 'quickbase-user-token') {
    throw new QuickbaseError(20, 'API_Authenticate needs username and password (or a ticket)');
  }
  const now = deps.clock();
  let principal: CompatPrincipal | undefined;
  if (dbid.toLowerCase() === 'main') {
    const found = await tenantsAccepting(deps.db, presented, now);
    if (found.length > 1) throw new QuickbaseError(presented.kind === 'quickbase-ticket' ? 4 : 20, 'these credentials belong to several applications: call API_Authenticate on /db/<dbid>');
    principal = found[0];
  } else {
    const tenant = await tenantOf(deps, dbid);
    if (!tenant) throw noSuchApp(dbid);
    principal = (await signIn(deps, tenant, params)).principal;
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
// Request and response

/** Parameters by lower-cased name; a name given twice is refused when it is read, not when it is merely present. */
class Params {
  private readonly values = new Map<string, string[]>();

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const list = this.values.get(key);
    if (list) list.push(value);
    else this.values.set(key, [value]);
  }

  one(name: string): string | undefined {
    const list = this.values.get(name);
    if (!list) return undefined;
    if (list.length > 1) throw new QuickbaseError(2, `${name} is given more than once`);
    return list[0];
  }

  first(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }
}

function actionOf(ctx: RouterContext): string | undefined {
  const header = ctx.get('quickbase-action').trim();
  if (header) return header;
  for (const key of ['a', 'act']) {
    const value = ctx.query[key];
    const first = Array.isArray(value) ? value[0] : value;
    if (first?.trim()) return first.trim();
  }
  return undefined;
}

function queryParams(ctx: RouterContext): Params {
  const params = new Params();
  for (const [name, value] of Object.entries(ctx.query)) {
    if (name === 'a' || name === 'act') continue;
    for (const v of Array.isArray(value) ? value : [value ?? '']) params.add(name, v);
  }
  return params;
}

/**
 * A POST body adds to the query's parameters: a `<qdbapi>` document whatever its Content-Type claims (curl's `-d`
 * labels everything a form), else a form body as fields; anything else is answered as unparsable XML.
 */
async function withBody(ctx: RouterContext, params: Params): Promise<Params> {
  const raw = await readRawBody(ctx);
  const trimmed = raw.replace(/^\uFEFF/, '').trimStart();
  if (trimmed === '') return params;
  if (!trimmed.startsWith('<') && ctx.is('application/x-www-form-urlencoded')) {
    for (const [name, value] of new URLSearchParams(raw)) params.add(name, value);
    return params;
  }
  try {
    for (const { name, value } of parseQdbapi(raw)) params.add(name, value);
  } catch (err) {
    if (err instanceof XmlParseError) throw new QuickbaseError(11, `your XML request is not valid: ${err.message}`);
    throw err;
  }
  return params;
}

function asQuickbaseError(deps: InvitationDeps, ctx: RouterContext, err: unknown): QuickbaseError {
  if (err instanceof QuickbaseError) return err;
  if (err instanceof UsherError) {
    const errcode = fromUsherError[err.code];
    if (errcode) return new QuickbaseError(errcode, err.message);
    deps.log.warn('quickbase: unmapped refusal', { requestId: ctx.state.requestId, code: err.code, detail: err.message });
    return new QuickbaseError(1, err.message);
  }
  deps.log.error('quickbase: unhandled error', { requestId: ctx.state.requestId, error: err instanceof Error ? err.stack : String(err) });
  return new QuickbaseError(1, `an unexpected error occurred; it has been logged (request ${ctx.state.requestId})`);
}

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
