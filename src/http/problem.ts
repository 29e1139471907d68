import type { Context, Next } from 'koa';
import { z } from 'zod';
import { problems, UsherError } from '../lib/errors';
import type { Logger } from '../lib/log';

/** The problem+json body every refusal has (RFC 9457), for the OpenAPI document. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  requestId: z.string().optional(),
});

export const problemType = (code: string): string => `urn:usher:problem:${code}`;

/**
 * First in the chain: every error leaves as RFC 9457 problem+json. UsherErrors carry their status; anything else is
 * logged and becomes a 500 that says nothing about internals.
 */
export function problemMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new UsherError('not-found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const error = toUsherError(err, log, ctx);
      const { status, title } = problems[error.code];
      ctx.status = status;
      ctx.type = 'application/problem+json';
      if (status === 401) ctx.set('WWW-Authenticate', 'Bearer');
      if (typeof error.extra.retryAfter === 'number') ctx.set('Retry-After', String(error.extra.retryAfter));
      ctx.body = {
        type: problemType(error.code),
        title,
        status,
        detail: error.message,
        instance: ctx.path,
        requestId: ctx.state.requestId,
        ...error.extra,
      };
    }
  };
}

function toUsherError(err: unknown, log: Logger, ctx: Context): UsherError {
  if (err instanceof UsherError) return err;
  const httpStatus = (err as { status?: number }).status;
  if (httpStatus === 405) return new UsherError('method-not-allowed', `${ctx.method} is not allowed on ${ctx.path}`);
  if (httpStatus === 501) return new UsherError('method-not-allowed', `${ctx.method} is not supported`);
  log.error('unhandled error', { requestId: ctx.state.requestId, path: ctx.path, error: err instanceof Error ? err.stack : String(err) });
  return new UsherError('internal', 'an unexpected error occurred; it has been logged');
}
