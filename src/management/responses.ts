import type { Context } from 'koa';

/** For answers that carry a secret shown once. */
export function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
}

export function created(ctx: Context, location: string, body: unknown): void {
  ctx.status = 201;
  ctx.set('Location', location);
  ctx.body = body;
}
