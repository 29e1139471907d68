import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { CompatPrincipal } from '../../db/compat-credentials';
import { verifyIdentifierSecret } from '../../db/compat-credentials';
import { findUserByEmail } from '../../db/users';
import { problems, UsherError } from '../../lib/errors';
import { createInvitation } from '../../invitations/create-invitation';
import { emailAddress } from '../../lib/email-address';
import type { InvitationDeps } from '../../invitations/deps';
import { readRawBody } from '../../http/body';

/**
 * Mendix AppCloud Invite API, call `SendInvite` (API version 1), served as `POST /api/1/invite` with the five
 * parameters under their Mendix names, as a JSON object or form-encoded.
 *
 * EnvironmentUUID + EnvironmentPassword (a `mendix-environment` credential) name and authenticate the tenant; the
 * inviter is the tenant's user with InviterEmailAddress, whose membership and rank createInvitation checks; RoleUUID
 * is the role's id. Success is `204 No Content` (SendInvite returns nothing). Refusals are
 * `{"code": "…", "message": "…", "requestId": "…"}` with the matching HTTP status (see docs/compat/mendix.md).
 */
export const MENDIX_PATHS = ['/api/1/invite', '/api/1/invite/'] as const;
export const MENDIX_ORIGIN = 'mendix';

const required = (name: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined || issue.input === null ? `${name} is required` : `${name} must be a string`) })
    .trim()
    .min(1, { message: `${name} is required` });

const sendInviteParams = z.object(
  {
    InviteeEmailAddress: required('InviteeEmailAddress').pipe(emailAddress),
    InviterEmailAddress: required('InviterEmailAddress').pipe(emailAddress),
    RoleUUID: required('RoleUUID').pipe(z.guid({ message: 'RoleUUID must be a UUID' })),
  },
  { message: 'send the SendInvite parameters as a JSON object or form fields' },
);

export function mendixRoutes(deps: InvitationDeps): Router {
  const router = new Router();
  for (const path of MENDIX_PATHS) {
    router.post(path, mendixErrors(deps, (ctx) => sendInvite(deps, ctx)));
    router.all(
      path,
      mendixErrors(deps, (ctx) => {
        ctx.set('Allow', 'POST');
        throw new UsherError('method-not-allowed', `${ctx.method} is not allowed here; send SendInvite as POST`);
      }),
    );
  }
  return router;
}

async function sendInvite(deps: InvitationDeps, ctx: Context): Promise<void> {
  const params = await readParams(ctx);
  const principal = await authenticate(deps, params);
  const parsed = sendInviteParams.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const message = issue.message.startsWith(field) || !field ? issue.message : `${field}: ${issue.message}`;
    throw new UsherError('invalid-request', message, { field: field || undefined });
  }
  const { InviteeEmailAddress, InviterEmailAddress, RoleUUID } = parsed.data;

  const inviter = await findUserByEmail(deps.db, principal.tenantId, InviterEmailAddress);
  if (!inviter) {
    throw new UsherError('inviter-not-allowed', 'InviterEmailAddress is not a user with access to this app', { field: 'InviterEmailAddress' });
  }
  await createInvitation(deps, {
    tenantId: principal.tenantId,
    email: InviteeEmailAddress,
    role: { id: RoleUUID },
    inviterUserId: inviter.id,
    sendEmail: true,
    origin: MENDIX_ORIGIN,
    actor: `mendix-environment:${principal.credentialId}`,
  });
  ctx.status = 204;
}

/** The parameters as a flat record of strings: a JSON object, or form fields. Other media types are 415. */
async function readParams(ctx: Context): Promise<Record<string, unknown>> {
  const raw = await readRawBody(ctx);
  if (raw.trim() === '') throw new UsherError('invalid-request', 'send the SendInvite parameters in the request body');
  if (ctx.is('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  if (!ctx.is('application/json', '+json')) {
    throw new UsherError('unsupported-media-type', 'send the SendInvite parameters as application/json or application/x-www-form-urlencoded');
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsherError('malformed-json', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsherError('invalid-request', 'send the SendInvite parameters as a JSON object');
  }
  return value as Record<string, unknown>;
}

/** EnvironmentUUID + EnvironmentPassword; a missing or wrong pair is 401 without saying which part was wrong. */
async function authenticate(deps: InvitationDeps, params: Record<string, unknown>): Promise<CompatPrincipal> {
  const { EnvironmentUUID: uuid, EnvironmentPassword: password } = params;
  if (typeof uuid !== 'string' || typeof password !== 'string' || uuid.trim() === '' || password === '') {
    throw new UsherError('unauthorized', 'EnvironmentUUID and EnvironmentPassword are required');
  }
  const principal = await verifyIdentifierSecret(deps.db, 'mendix-environment', uuid.trim(), password);
  if (!principal) throw new UsherError('unauthorized', 'EnvironmentUUID or EnvironmentPassword is not valid');
  return principal;
}

/** The parameter names a Mendix client knows, for the command fields createInvitation names in its refusals. */
const mendixField: Record<string, string> = { role: 'RoleUUID' };

/** Every refusal as `{code, message, requestId}` (plus `field` where one parameter is at fault), never problem+json. */
function mendixErrors(deps: InvitationDeps, handler: (ctx: Context) => Promise<void> | void) {
  return async (ctx: Context) => {
    try {
      await handler(ctx);
    } catch (err) {
      const error = err instanceof UsherError ? err : unexpected(deps, ctx, err);
      const field = typeof error.extra.field === 'string' ? (mendixField[error.extra.field] ?? error.extra.field) : undefined;
      let message = error.message;
      if (field === 'RoleUUID' && error.code === 'invalid-request' && message.startsWith('unknown role')) {
        message = 'RoleUUID is not a user role of this app';
      }
      ctx.status = problems[error.code].status;
      ctx.type = 'application/json';
      ctx.body = { code: error.code, message, ...(field ? { field } : {}), requestId: ctx.state.requestId };
    }
  };
}

function unexpected(deps: InvitationDeps, ctx: Context, err: unknown): UsherError {
  deps.log.error('unhandled error', { requestId: ctx.state.requestId, path: ctx.path, error: err instanceof Error ? err.stack : String(err) });
  return new UsherError('internal', 'an unexpected error occurred; it has been logged');
}
