import type { Context, Next } from 'koa';

/** For HTML pages that set no policy of their own: nothing but their inline styles, never framed. */
export const STRICT_HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * On every response: no MIME sniffing, no Referer (accept links carry their token in the path), and on every HTML
 * page a strict Content-Security-Policy and no framing.
 */
export async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } finally {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (/html/i.test(ctx.response.type)) {
      if (!ctx.response.get('Content-Security-Policy')) ctx.set('Content-Security-Policy', STRICT_HTML_POLICY);
      ctx.set('X-Frame-Options', 'DENY');
    }
  }
}
