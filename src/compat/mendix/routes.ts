import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { findUserByEmail } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { createInvitation } from '../../invitations/create-invitation';
import { emailAddress } from '../../lib/email-address';
import type { InvitationDeps } from '../../invitations/deps';
import { readRawBody } from '../../http/body';
import { seedRoutes } from '../adapter';
import { jsonOf } from '../body';
import { authenticate } from './auth';
import { refuse } from './errors';

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
  return seedRoutes({
    endpoints: [
      {
        paths: MENDIX_PATHS,
        methods: { POST: (ctx) => sendInvite(deps, ctx) },
        otherMethods: (ctx) => new UsherError('method-not-allowed', `${ctx.method} is not allowed here; send SendInvite as POST`),
      },
    ],
    refuse: (ctx, err) => refuse(deps, ctx, err),
  });
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
  const value = jsonOf(ctx, raw, 'send the SendInvite parameters as application/json or application/x-www-form-urlencoded');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsherError('invalid-request', 'send the SendInvite parameters as a JSON object');
  }
  return value as Record<string, unknown>;
}
