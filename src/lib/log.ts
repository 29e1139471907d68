import { AsyncLocalStorage } from 'node:async_hooks';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: Record<string, unknown>) => void>;

/** Field names whose values are never written, whatever they hold. */
const SECRET_FIELDS = /^(token|secret|password|authorization|cookie|apiKey|api_key|key|csrf.*|.*Secret|.*Password)$/i;

/**
 * Credentials that can turn up inside any text (a path, an error message, a stack): link tokens and other 43-character
 * base64url values, `usher_` API keys, bearer and basic credentials, `token=` parameters. Masked in every line, so a
 * log shipped anywhere never holds a working link.
 */
const SECRET_TEXT: [RegExp, string][] = [
  [/\/invite\/[^/?#\s"]+/g, '/invite/:token'],
  [/([?&](?:token|ticket|usertoken|apptoken)=)[^&#\s"]+/gi, '$1[redacted]'],
  [/\b(Bearer|Basic)\s+[^\s"]+/g, '$1 [redacted]'],
  [/\busher_[A-Za-z0-9_-]{8,}/g, 'usher_[redacted]'],
  [/\bwhsec_[A-Za-z0-9+/=_-]{8,}/g, 'whsec_[redacted]'],
  [/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, '[redacted]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_TEXT) out = out.replace(pattern, replacement);
  return out;
}

function redactFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redact(value.stack ?? value.message);
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_FIELDS.test(k) ? '[redacted]' : redactFields(v, depth + 1)]));
}

/**
 * Fields every line written inside a unit of work carries without being passed along: the HTTP request's id, and in
 * the worker the workflow and activity that run on that request's behalf.
 */
export interface LogContext {
  requestId?: string;
  workflowId?: string;
  activityType?: string;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` added to every log line written inside it (nested contexts add to the outer one). */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

export function currentLogContext(): LogContext {
  return context.getStore() ?? {};
}

/** What a request id may be to travel into workflow headers and log lines: short, plain, and not a credential. */
export function isSafeRequestId(id: string): boolean {
  return /^[\w.-]{1,100}$/.test(id) && redact(id) === id;
}

/** The log context and the active trace, for each line: a line finds its request, and its trace in the tracing UI. */
function mixin(): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...context.getStore() };
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) {
    fields.traceId = span.traceId;
    fields.spanId = span.spanId;
  }
  return redactFields(fields) as Record<string, unknown>;
}

/**
 * pino, one JSON object per line (stdout unless `write` is given): easy to grep locally, easy to ship in production.
 * Every message and field is masked (`redact`), secret-named fields are dropped, errors become their redacted stacks.
 */
export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const logger = pino(
    {
      level,
      base: redactFields(base) as Record<string, unknown>,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin,
    },
    { write },
  );
  const emit = (at: Exclude<LogLevel, 'silent'>) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (!logger.isLevelEnabled(at)) return;
    logger[at](redactFields(fields) as Record<string, unknown>, redact(msg));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
