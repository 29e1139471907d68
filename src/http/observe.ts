import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Next } from 'koa';
import { httpRequestDuration } from '../lib/metrics';

/**
 * The outermost middleware: one server span per request (continuing a caller's `traceparent`, if any) and one sample
 * of `usher_http_request_duration_seconds`. Both are labelled with the router's matched route pattern
 * (`/v1/invitations/:id`), never the raw path, which can carry a link token; a request no route matched is `unmatched`.
 */
export function observeRequests() {
  const tracer = trace.getTracer('usher-http');
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    const parent = propagation.extract(context.active(), ctx.headers);
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method } }, parent);
    let escaped: number | undefined;
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      // Koa answers an error that escapes with its HTTP status (ctx.throw(401)), anything else with 500.
      const status = (err as { status?: unknown }).status;
      escaped = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
      throw err;
    } finally {
      const route = routeOf(ctx);
      const status = escaped ?? ctx.status;
      httpRequestDuration.observe({ method: ctx.method, route, status: String(status) }, (performance.now() - started) / 1000);
      span.updateName(`${ctx.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (typeof ctx.state.requestId === 'string') span.setAttribute('usher.request_id', ctx.state.requestId);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}

interface Layer {
  path: string | RegExp;
  methods: string[];
}

/**
 * The pattern of the route the request was for: the last route (not middleware) layer whose path matched, preferring
 * one for its method, so a request refused by a router's middleware (401) or by its method (405) still names it.
 */
function routeOf(ctx: Context): string {
  const { matched, _matchedRoute } = ctx as { matched?: Layer[]; _matchedRoute?: string | RegExp };
  const routes = (matched ?? []).filter((layer) => layer.methods.length > 0);
  const route = routes.filter((layer) => layer.methods.includes(ctx.method)).at(-1) ?? routes.at(-1);
  const path = route?.path ?? _matchedRoute;
  return path === undefined ? 'unmatched' : String(path);
}
