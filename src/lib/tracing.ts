import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { redact } from './log';

export { SpanKind };

/**
 * Runs `fn` inside a new span, a child of whatever span is active (an activity's, an HTTP request's), and ends it:
 * an error sets the span's status and is recorded (redacted) before it is thrown on. A no-op when tracing is off
 * (src/main/observability.ts installs it when OTEL_EXPORTER_OTLP_ENDPOINT is set).
 *
 * For an outgoing call, e.g. a webhook delivery:
 *
 *     await withSpan('webhook POST', { kind: SpanKind.CLIENT, attributes: { 'server.address': url.host, 'usher.webhook.event': type } },
 *       async (span) => { const res = await fetch(…); span.setAttribute('http.response.status_code', res.status); return res; });
 *
 * Attributes hold ids and hosts, never a token, secret, signature, email address or full URL with a query.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer('usher').startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      span.recordException({ name: err instanceof Error ? err.name : 'Error', message });
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      throw err;
    } finally {
      span.end();
    }
  });
}
