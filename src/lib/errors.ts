/** Every refusal Usher can give, with its HTTP status and title. The `type` URI is stable: clients may switch on it. */
export const problems = {
  'invalid-request': { status: 400, title: 'The request is invalid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'redirect-not-allowed': { status: 400, title: 'The redirect URL is not on the tenant allow-list' },
  unauthorized: { status: 401, title: 'A valid API key is required' },
  'role-too-high': { status: 403, title: 'The inviter may not grant this role' },
  forbidden: { status: 403, title: 'This credential may not do this' },
  'missing-scope': { status: 403, title: 'The API key lacks the scope this needs' },
  'wrong-account': { status: 403, title: 'This account may not accept this invitation' },
  'inviter-not-allowed': { status: 403, title: 'The inviter may not invite to this tenant' },
  'invitations-disabled': { status: 403, title: 'Invitations are switched off for this tenant' },
  'not-found': { status: 404, title: 'No such resource' },
  'token-not-found': { status: 404, title: 'This invitation link is not valid' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  'open-invitation-exists': { status: 409, title: 'An open invitation already exists for this email' },
  'already-member': { status: 409, title: 'This person is already a member' },
  'invitation-not-pending': { status: 409, title: 'The invitation is no longer pending' },
  conflict: { status: 409, title: 'The request conflicts with existing data' },
  'token-gone': { status: 410, title: 'This invitation link has already been used or was withdrawn' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Too many requests; retry after the time given' },
  'idempotency-key-reused': { status: 422, title: 'The Idempotency-Key was used with a different request' },
  'temporal-unavailable': { status: 503, title: 'The workflow service is unavailable; nothing was stored' },
  unavailable: { status: 503, title: 'A service Usher depends on is unavailable; retry after the time given' },
  busy: { status: 503, title: 'This server is working on as many requests as it takes at once; retry after the time given' },
  internal: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof problems;

export class UsherError extends Error {
  readonly code: ProblemCode;
  readonly extra: Record<string, unknown>;

  constructor(code: ProblemCode, detail?: string, extra: Record<string, unknown> = {}, cause?: unknown) {
    super(detail ?? problems[code].title, cause === undefined ? undefined : { cause });
    this.name = 'UsherError';
    this.code = code;
    this.extra = extra;
  }

  get status(): number {
    return problems[this.code].status;
  }
}
