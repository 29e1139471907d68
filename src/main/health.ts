import Router from '@koa/router';
import type { ApiDeps } from './api-deps';

/**
 * `/healthz`: the process answers. `/readyz`: it can do its work: every dependency answers, and it is not shutting
 * down. The checks go through the same guards as requests (src/lib/circuit.ts): a dependency known to be down is
 * reported at once, and reported ready again as soon as the background probe (every second while down) reaches it.
 */
export function healthRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (deps.shuttingDown?.()) {
      ctx.status = 503;
      ctx.set('Connection', 'close');
      ctx.body = { status: 'shutting down', checks: {} };
      return;
    }
    const checks: Record<string, string> = {};
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        checks[name] = await withTimeout(check(), 3000).then(
          () => 'ok',
          (err: unknown) => {
            // Which dependency failed is public; why is for the operator's log only.
            deps.log.warn('readiness check failed', { check: name, error: err instanceof Error ? err.message : String(err) });
            return 'unavailable';
          },
        );
      }),
    );
    const ready = Object.values(checks).every((v) => v === 'ok');
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.set('Retry-After', '2');
    ctx.body = { status: ready ? 'ready' : 'not ready', checks };
  });
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
