import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { problems } from '../../lib/errors';
import { toUsherError, vendorField, writeJsonRefusal } from '../adapter';

/** The parameter names a Mendix client knows, for the command fields createInvitation names in its refusals. */
const mendixField: Record<string, string> = { role: 'RoleUUID' };

/** Every refusal as `{code, message, requestId}` (plus `field` where one parameter is at fault), never problem+json. */
export function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const error = toUsherError(deps, ctx, err);
  const field = vendorField(error, mendixField);
  let message = error.message;
  if (field === 'RoleUUID' && error.code === 'invalid-request' && message.startsWith('unknown role')) {
    message = 'RoleUUID is not a user role of this app';
  }
  writeJsonRefusal(ctx, problems[error.code].status, { code: error.code, message, ...(field ? { field } : {}), requestId: ctx.state.requestId });
}
