import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observeRequests } from '../../src/http/observe';
import { registry } from '../../src/lib/metrics';

/** The request histogram's route label, on a Koa app shaped like Usher's: routers with prefixes and middleware. */
let base: string;
let server: ReturnType<Koa['listen']>;

beforeAll(async () => {
  const app = new Koa();
  app.silent = true;
  app.use(observeRequests());
  const guarded = new Router({ prefix: '/v1/things' });
  guarded.use(async (ctx, next) => {
    if (ctx.get('authorization') !== 'yes') ctx.throw(401);
    await next();
  });
  guarded.get('/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  const open = new Router({ prefix: '/invite' });
  open.get('/:token', (ctx) => {
    ctx.body = 'hello';
  });
  for (const router of [guarded, open]) app.use(router.routes()).use(router.allowedMethods());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function labels(): Promise<string[]> {
  const text = await registry.getSingleMetricAsString('usher_http_request_duration_seconds');
  return text
    .split('\n')
    .filter((l) => l.startsWith('usher_http_request_duration_seconds_count'))
    .map((l) => l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1));
}

describe('usher_http_request_duration_seconds', () => {
  it('is labelled with the route pattern, for answers from the route, its router’s middleware and its allowed methods', async () => {
    const token = 'Qm9vb29vb29vb29vb29vb29vb29vb29vb29vb29vb2Z';
    await fetch(`${base}/v1/things/42`, { headers: { authorization: 'yes' } });
    await fetch(`${base}/v1/things/43`);
    await fetch(`${base}/invite/${token}`);
    await fetch(`${base}/invite/${token}`, { method: 'DELETE' });
    await fetch(`${base}/nowhere/${token}`);
    expect((await labels()).sort()).toEqual(
      [
        '{method="GET",route="/v1/things/:id",status="200"}',
        '{method="GET",route="/v1/things/:id",status="401"}',
        '{method="GET",route="/invite/:token",status="200"}',
        '{method="DELETE",route="/invite/:token",status="405"}',
        '{method="GET",route="unmatched",status="404"}',
      ].sort(),
    );
  });
});
