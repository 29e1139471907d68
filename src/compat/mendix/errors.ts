import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { problems } from '../../lib/errors';
import { toUsherError, vendorField, writeJsonRefusal } from '../adapter';

/** The parameter names a Mendix client knows, for the command fields createInvitation names in its refusals. */
const mendixField: Record<string, string> = { role: 'RoleUUID' };

/** A refusal as both of Mendix's shapes carry it: the JSON body, and a SOAP fault's detail. */
export interface MendixRefusal {
  status: number;
  code: string;
  message: string;
  field?: string;
  requestId: string;
}

export function mendixRefusal(deps: InvitationDeps, ctx: Context, err: unknown): MendixRefusal {
  const error = toUsherError(deps, ctx, err);
  const field = vendorField(error, mendixField);
  let message = error.message;
  if (field === 'RoleUUID' && error.code === 'invalid-request' && message.startsWith('unknown role')) {
    message = 'RoleUUID is not a user role of this app';
  }
  return { status: problems[error.code].status, code: error.code, message, ...(field ? { field } : {}), requestId: ctx.state.requestId };
}

/** Every refusal as `{code, message, requestId}` (plus `field` where one parameter is at fault), never problem+json. */
export function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const { status, ...body } = mendixRefusal(deps, ctx, err);
  writeJsonRefusal(ctx, status, body);
}
