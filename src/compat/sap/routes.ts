import type { Admission } from '../../http/admission';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { User } from '../../db/database';
import { findTenant } from '../../db/tenants';
import { findUserByExternalId, findUserById } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { emailAddress } from '../../lib/email-address';
import type { InvitationDeps } from '../../invitations/deps';
import { readRawBody } from '../../http/body';
import { seedRoutes } from '../adapter';
import { jsonOf } from '../body';
import { inviteOrResend } from '../repeat';
import { authenticate } from './auth';
import { refuse } from './errors';

/**
 * SAP Cloud Identity Services invitation REST API: `POST /cps/invite/` with a JSON body.
 *
 * Authentication is SAP's "API Authentication" for technical users: HTTP Basic with the client id and secret of a
 * `sap-client` credential. The credential names the tenant and the technical user who is recorded as the inviter;
 * `inviterName` is only the display name the email shows.
 *
 * Success is `201 Created` with `Location: /v1/invitations/{id}` and `{"id": …, "status": "pending"}`. Every refusal,
 * Usher's own and unexpected ones, is answered as `{"status": 400, "code": "invalid-request", "message": "…",
 * "requestId": "…"}` with the matching HTTP status (see docs/compat/sap.md). Nothing here decides policy: it parses,
 * authenticates, maps the request onto createInvitation and maps the outcome back.
 */
export const SAP_PATHS = ['/cps/invite/', '/cps/invite'] as const;
export const SAP_ORIGIN = 'sap';

/** XX, xx, xx-XX or xx_XX; anything else is not refused but means English, as SAP documents. */
const SAP_LANGUAGE = /^[A-Za-z]{2}(?:[-_][A-Za-z]{2})?$/;

/** Absent, `null` and `""` all mean "not given". */
const optional = <S extends z.ZodType>(inner: S) =>
  z.preprocess((v) => (v === null || v === '' ? undefined : v), inner.optional());
const text = (max: number) => z.string({ message: 'must be a string' }).max(max, { message: `must be at most ${max} characters` });
const httpUrl = text(2048).refine((v) => URL.canParse(v) && ['http:', 'https:'].includes(new URL(v).protocol), {
  message: 'must be an absolute http(s) URL',
});

/** Unknown members are ignored, as a JSON API that documents only its known parameters would. */
const sapInviteBody = z.object(
  {
    inviteeEmail: optional(emailAddress),
    inviteeUserId: optional(text(254)),
    inviterName: optional(text(200)),
    targetUrl: optional(httpUrl),
    sourceUrl: optional(httpUrl),
    inviteeFirstName: optional(text(200)),
    inviteeLastName: optional(text(200)),
    headerText: optional(text(2000)),
    footerText: optional(text(2000)),
    language: optional(z.string({ message: 'must be a string' })),
  },
  { message: 'the request body must be a JSON object' },
);
type SapInviteBody = z.infer<typeof sapInviteBody>;

export function sapRoutes(deps: InvitationDeps, admission: Admission): Router {
  return seedRoutes(admission, {
    endpoints: [
      {
        paths: SAP_PATHS,
        methods: { POST: (ctx) => invite(deps, ctx) },
        otherMethods: (ctx) => new UsherError('method-not-allowed', `${ctx.method} is not allowed here; send POST with a JSON body`),
      },
    ],
    refuse: (ctx, err) => refuse(deps, ctx, err),
  });
}

async function invite(deps: InvitationDeps, ctx: Context): Promise<void> {
  const principal = await authenticate(deps, ctx);
  const body = await readSapJson(ctx);

  if (body.inviteeEmail && body.inviteeUserId) {
    throw new UsherError('invalid-request', 'use either inviteeEmail or inviteeUserId, not both', { field: 'inviteeEmail' });
  }
  if (!body.inviteeEmail && !body.inviteeUserId) {
    throw new UsherError('invalid-request', 'inviteeEmail or inviteeUserId is required', { field: 'inviteeEmail' });
  }
  if (!body.inviterName) throw new UsherError('invalid-request', 'inviterName is required', { field: 'inviterName' });
  if (!principal.userId) {
    throw new UsherError('inviter-not-allowed', 'this API client has no technical user to send invitations as');
  }

  const tenant = await findTenant(deps.db, principal.tenantId);
  if (!tenant) throw new UsherError('unauthorized', 'the client id or secret is not valid');
  const targetUrl = body.targetUrl ?? tenant.home_url;
  if (!targetUrl) throw new UsherError('invalid-request', 'targetUrl is required: the application has no Home URL', { field: 'targetUrl' });
  const sourceUrl = body.sourceUrl ?? tenant.home_url;
  if (!sourceUrl) throw new UsherError('invalid-request', 'sourceUrl is required: the application has no Home URL', { field: 'sourceUrl' });

  const invitee = body.inviteeUserId ? await findInviteeByUserId(deps, tenant.id, body.inviteeUserId) : undefined;
  const email = invitee?.email ?? body.inviteeEmail!;

  // Inviting someone whose invitation is open answers 201 with that invitation, sent again within the resend limits.
  const created = await inviteOrResend(deps, {
    tenantId: tenant.id,
    email,
    inviterUserId: principal.userId,
    inviterName: body.inviterName,
    firstName: body.inviteeFirstName ?? invitee?.first_name ?? undefined,
    lastName: body.inviteeLastName ?? invitee?.last_name ?? undefined,
    headerText: body.headerText,
    footerText: body.footerText,
    redirectUrl: targetUrl,
    linkBaseUrl: sourceUrl,
    language: languageOf(body),
    sendEmail: true,
    origin: SAP_ORIGIN,
    actor: `sap-client:${principal.credentialId}`,
  });
  ctx.status = 201;
  ctx.set('Location', `/v1/invitations/${created.invitation.id}`);
  ctx.body = { id: created.invitation.id, status: created.invitation.status };
}

/** SAP documents JSON only: an empty body is 400, another media type 415, broken JSON 400. */
async function readSapJson(ctx: Context): Promise<SapInviteBody> {
  const raw = await readRawBody(ctx);
  if (raw.trim() === '') throw new UsherError('invalid-request', 'the request body must be a JSON object');
  const result = sapInviteBody.safeParse(jsonOf(ctx, raw, 'send the invitation as application/json'));
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = errors[0]!;
  throw new UsherError('invalid-request', errors.map((e) => (e.field === '(body)' ? e.message : `${e.field}: ${e.message}`)).join('; '), {
    field: first.field,
  });
}

/**
 * SAP's user ID names a user Usher already knows (provisioned, or an earlier invitee): first by its external id
 * (an SAP user ID such as P000123), then by Usher's own user id.
 */
async function findInviteeByUserId(deps: InvitationDeps, tenantId: string, userId: string): Promise<User> {
  const byExternal = await findUserByExternalId(deps.db, tenantId, userId);
  if (byExternal) return byExternal;
  if (z.guid().safeParse(userId).success) {
    const byId = await findUserById(deps.db, tenantId, userId);
    if (byId) return byId;
  }
  throw new UsherError('not-found', `no user with inviteeUserId ${userId}`, { field: 'inviteeUserId' });
}

function languageOf(body: SapInviteBody): string | undefined {
  return body.language && SAP_LANGUAGE.test(body.language) ? body.language : undefined;
}
