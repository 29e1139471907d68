import Router from '@koa/router';
import type { ApiDeps } from './api-deps';

export function healthRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
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
    ctx.body = { status: ready ? 'ready' : 'not ready', checks };
  });
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);
}
