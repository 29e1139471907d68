import Router, { type RouterContext } from '@koa/router';
import type { Context } from 'koa';
import type { Admission } from '../http/admission';
import type { InvitationDeps } from '../invitations/deps';
import { UsherError } from '../lib/errors';
import { refuseUnstorable } from './body';

type Handler = (ctx: RouterContext) => Promise<void> | void;

/** One call of a seed API: where the vendor serves it and with which methods. */
export interface SeedEndpoint {
  /** Every spelling the vendor answers on, e.g. with and without a trailing slash. */
  paths: readonly string[];
  methods: Partial<Record<'GET' | 'POST', Handler>>;
  /**
   * The vendor's refusal of any other method; `Allow` names `methods` first. Without it, other methods are left to
   * the app's own 405, as for a call the vendor documents no refusal for.
   */
  otherMethods?: (ctx: RouterContext) => unknown;
}

export interface SeedApi {
  endpoints: readonly SeedEndpoint[];
  /** Answers in the vendor's own error shape, whatever was thrown: its own refusals, UsherErrors or anything else. */
  refuse: (ctx: RouterContext, err: unknown) => void;
}

/**
 * The router of one seed API: every error a handler throws leaves in the vendor's shape, never as problem+json. Query
 * and path parameters holding text PostgreSQL cannot store are refused before the handler runs, as invalid input
 * (bodies are checked where they are parsed: parseJson, or refuseUnstorable on form fields).
 */
export function seedRoutes(admission: Admission, { endpoints, refuse }: SeedApi): Router {
  const router = new Router();
  const answered = (handler: Handler) => async (ctx: RouterContext) => {
    let leave: (() => void) | undefined;
    try {
      leave = admission.enter();
      refuseUnstorable(ctx.params, 'the path');
      refuseUnstorable(ctx.query, 'the query');
      await handler(ctx);
    } catch (err) {
      refuse(ctx, err);
    } finally {
      leave?.();
    }
  };
  for (const { paths, methods, otherMethods } of endpoints) {
    const allowed = Object.keys(methods);
    for (const path of paths) {
      for (const [method, handler] of Object.entries(methods)) router.register(path, [method], answered(handler));
      if (!otherMethods) continue;
      router.all(path, (ctx) => {
        if (allowed.length > 0) ctx.set('Allow', allowed.join(', '));
        refuse(ctx, otherMethods(ctx));
      });
    }
  }
  return router;
}

/** Logs what no adapter foresaw and gives the core's 500 for it; the log line is the one problem+json writes. */
export function unexpected(deps: InvitationDeps, ctx: Context, err: unknown): UsherError {
  deps.log.error('unhandled error', { requestId: ctx.state.requestId, path: ctx.path, error: err instanceof Error ? err.stack : String(err) });
  return new UsherError('internal', 'an unexpected error occurred; it has been logged');
}

/** An UsherError as it is; anything else logged and made the core's 500. */
export function toUsherError(deps: InvitationDeps, ctx: Context, err: unknown): UsherError {
  return err instanceof UsherError ? err : unexpected(deps, ctx, err);
}

/**
 * For a vendor that answers only some of the core's refusals: those through `fromUsherError`; any other error, refusal
 * or not, is logged and answered with the vendor's 500.
 */
export function mappedOrLogged<E>(deps: InvitationDeps, ctx: Context, err: unknown, fromUsherError: (err: UsherError) => E | undefined, internal: () => E): E {
  const known = err instanceof UsherError ? fromUsherError(err) : undefined;
  if (known) return known;
  unexpected(deps, ctx, err);
  return internal();
}

/** The parameter a refusal names, under the vendor's name for it where that differs from the command's. */
export function vendorField(error: UsherError, names: Readonly<Record<string, string>>): string | undefined {
  const field = error.extra.field;
  return typeof field === 'string' ? (names[field] ?? field) : undefined;
}

/** A refusal as a vendor's JSON body, with any headers the vendor sends along with it. */
export function writeJsonRefusal(ctx: Context, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.set(headers);
  ctx.body = body;
}
