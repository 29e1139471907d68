import type { Context, Next } from 'koa';
import { UsherError } from '../lib/errors';

/**
 * Above the most one process meets in the fault scenarios (200 accepts at once while creates run) and far above what
 * a closed loop of 32 callers keeps in flight; at about 0.1 MiB a request it holds the API's memory near its idle size.
 */
export const DEFAULT_REQUESTS_IN_FLIGHT = 256;

/**
 * A cap on the requests one API process works on at once. Past it a request is refused at once (503, Retry-After: 1)
 * rather than waiting inside the process: a burst beyond what Temporal and the database absorb then costs its callers a
 * retry, not the API memory without bound (docs/scaling.md). A limit of 0 is no cap.
 */
export interface Admission {
  /** Takes a place or throws UsherError('busy'); the function returned gives the place back (once). */
  enter(): () => void;
}

export function createAdmission(limit: number): Admission {
  let inFlight = 0;
  return {
    enter() {
      if (limit > 0 && inFlight >= limit) {
        throw new UsherError('busy', `this server is working on as many requests as it takes at once (${limit}); retry in 1 s`, { retryAfter: 1 });
      }
      inFlight++;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        inFlight--;
      };
    },
  };
}

/** Koa middleware: a request whose path `gated` picks holds a place until its handler is done. */
export function admitted(admission: Admission, gated: (path: string) => boolean) {
  return async (ctx: Context, next: Next) => {
    if (!gated(ctx.path)) return next();
    const leave = admission.enter();
    try {
      await next();
    } finally {
      leave();
    }
  };
}
