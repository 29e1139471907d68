import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import type { UsherError } from '../../lib/errors';
import { mappedOrLogged, writeJsonRefusal } from '../adapter';
import type { RoyaltiRequest } from './request';

export class RoyaltiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 500,
    message: string,
  ) {
    super(message);
  }
}

/** The core's refusals in Royalti's documented statuses (400, 401, 404, 500); anything else is logged and Royalti's 500. */
export function toRoyaltiError(deps: InvitationDeps, ctx: Context, err: unknown, request?: RoyaltiRequest): RoyaltiError {
  if (err instanceof RoyaltiError) return err;
  return mappedOrLogged(deps, ctx, err, (refusal) => fromUsherError(refusal, request), () => new RoyaltiError(500, 'Internal Server Error'));
}

function fromUsherError(err: UsherError, request: RoyaltiRequest | undefined): RoyaltiError | undefined {
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
    case 'unavailable':
    case 'busy':
      return new RoyaltiError(500, `Internal Server Error: ${err.message}`);
    default:
      return undefined;
  }
}

export function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const error = toRoyaltiError(deps, ctx, err);
  const headers = { 'Cache-Control': 'no-store', ...(error.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}) };
  writeJsonRefusal(ctx, error.status, { message: error.message }, headers);
}
