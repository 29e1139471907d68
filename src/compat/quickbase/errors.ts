import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { type ProblemCode, UsherError } from '../../lib/errors';
import { unexpected } from '../adapter';

/**
 * The Quickbase error codes this adapter answers with, and their `errtext` as Quickbase's "Error codes" appendix
 * words them (https://help.quickbase.com/docs/error-codes). Clients switch on `errcode`; `errdetail` says what
 * exactly was wrong with this request.
 */
export const quickbaseErrors = {
  0: 'No error',
  1: 'Unknown error',
  2: 'Invalid input',
  3: 'Insufficient permissions',
  4: 'Bad ticket',
  5: 'Unimplemented operation',
  11: 'Could not parse XML input',
  14: 'Missing DBID or DBID of wrong type',
  20: 'Unknown username/password',
  21: 'Unknown user',
  22: 'Sign-in required',
  24: 'Invalid application token',
  32: 'The application does not exist or was deleted',
  77: 'API request limit exceeded',
  100: 'Technical Difficulties -- try again later',
  111: 'User exists',
  113: 'User already in role',
} as const;

export type QuickbaseErrorCode = keyof typeof quickbaseErrors;

/** A refusal in Quickbase's terms: always answered as XML with HTTP 200, as Quickbase does. */
export class QuickbaseError extends Error {
  constructor(
    readonly errcode: Exclude<QuickbaseErrorCode, 0>,
    readonly errdetail: string,
    /** Sent as `Retry-After` with a limit's refusal (errcode 77). */
    readonly extra: { retryAfterSeconds?: number } = {},
  ) {
    super(`${errcode} ${quickbaseErrors[errcode]}: ${errdetail}`);
    this.name = 'QuickbaseError';
  }

  get errtext(): string {
    return quickbaseErrors[this.errcode];
  }
}

/**
 * What each refusal of the invitation command means to a Quickbase client. The rules themselves live in
 * createInvitation; this only picks the nearest Quickbase code. Unlisted codes cannot come out of API_SendInvitation
 * (it sends no role, redirect or idempotency key) and fall through to 1, Unknown error.
 */
const fromUsherError: Partial<Record<ProblemCode, Exclude<QuickbaseErrorCode, 0>>> = {
  'already-member': 113,
  'open-invitation-exists': 111,
  'inviter-not-allowed': 3,
  'role-too-high': 3,
  'invitations-disabled': 3,
  'invalid-request': 2,
  'payload-too-large': 2,
  'temporal-unavailable': 100,
  unavailable: 100,
  busy: 100,
  'rate-limited': 77,
};

/** Any error as the Quickbase code a client switches on; an unmapped refusal is errcode 1 with its own words. */
export function asQuickbaseError(deps: InvitationDeps, ctx: Context, err: unknown): QuickbaseError {
  if (err instanceof QuickbaseError) return err;
  if (!(err instanceof UsherError)) return new QuickbaseError(1, `${unexpected(deps, ctx, err).message} (request ${ctx.state.requestId})`);
  const errcode = fromUsherError[err.code];
  const retryAfter = err.extra.retryAfter;
  if (errcode) return new QuickbaseError(errcode, err.message, typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {});
  deps.log.warn('quickbase: unmapped refusal', { requestId: ctx.state.requestId, code: err.code, detail: err.message });
  return new QuickbaseError(1, err.message);
}
