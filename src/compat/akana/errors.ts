import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import type { UsherError } from '../../lib/errors';
import { mappedOrLogged, writeJsonRefusal } from '../adapter';

/** A refusal in Akana's terms: the status plus a short JSON body; never problem+json. */
export class AkanaError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 406 | 415 | 429 | 500,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** After some addresses were invited, a refusal says so: those invitations stand, and a retry answers them as invited. */
export function withProgress(err: AkanaError, done: number, total: number): AkanaError {
  if (done === 0) return err;
  const note = ` (${done} of ${total} addresses were invited before this one; repeating the request is safe: they answer as invited, and are not invited twice)`;
  return new AkanaError(err.status, `${err.message}${note}`, err.extra, err.headers);
}

/** The core's refusals in Akana's documented statuses; anything else is logged and Akana's 500. */
export function toAkanaError(deps: InvitationDeps, ctx: Context, err: unknown): AkanaError {
  if (err instanceof AkanaError) return err;
  return mappedOrLogged(deps, ctx, err, fromUsherError, () => new AkanaError(500, 'An error occurred processing the call'));
}

function fromUsherError(err: UsherError): AkanaError | undefined {
  switch (err.code) {
    case 'invitations-disabled':
      return new AkanaError(401, 'Unauthorized: inviting users is disabled in the platform settings');
    case 'inviter-not-allowed':
    case 'role-too-high':
      return new AkanaError(401, `Unauthorized: ${err.message}`);
    case 'invalid-request':
    case 'malformed-json':
    case 'redirect-not-allowed':
      return new AkanaError(400, err.message);
    case 'not-found':
      return new AkanaError(404, `The resource could not be found: ${err.message}`);
    case 'temporal-unavailable':
      return new AkanaError(500, 'An error occurred processing the call: the workflow service is unavailable; no invitation was stored for this address');
    case 'unavailable':
    case 'busy':
      return new AkanaError(500, `An error occurred processing the call: ${err.message}`);
    default:
      return undefined;
  }
}

export function refuse(deps: InvitationDeps, ctx: Context, err: unknown): void {
  const error = toAkanaError(deps, ctx, err);
  writeJsonRefusal(ctx, error.status, { code: error.status, message: error.message, ...error.extra }, { 'Cache-Control': 'no-store', ...error.headers });
}
