import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { problems } from '../../lib/errors';
import { toUsherError, vendorField, writeJsonRefusal } from '../adapter';

const REALM = 'Usher (SAP Cloud Identity Services invitation API)';

/** The field names a client of SAP knows, for the command fields createInvitation names in its refusals. */
const sapField: Record<string, string> = { redirectUrl: 'targetUrl', linkBaseUrl: 'sourceUrl' };

/** Every refusal in SAP's shape: JSON `{status, code, message, requestId}`, never problem+json. */
export function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const error = toUsherError(deps, ctx, err);
  const status = problems[error.code].status;
  const field = vendorField(error, sapField);
  let message = error.message;
  if (error.code === 'redirect-not-allowed' && field) message = message.replace(/^\w+ host/, `${field} host`);
  const body = {
    status,
    code: error.code,
    message,
    ...(field ? { field } : {}),
    ...(typeof error.extra.invitationId === 'string' ? { invitationId: error.extra.invitationId } : {}),
    requestId: ctx.state.requestId,
  };
  writeJsonRefusal(ctx, status, body, status === 401 ? { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` } : {});
}
