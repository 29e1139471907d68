export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: Record<string, unknown>) => void>;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

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

/** One JSON object per line on stdout: easy to grep locally, easy to ship in production. Secrets are masked. */
export function createLogger(
  level: LogLevel,
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (order[at] < order[level]) return;
    const line = { time: new Date().toISOString(), level: at, msg: redact(msg), ...base, ...(redactFields(fields) as Record<string, unknown>) };
    write(`${JSON.stringify(line)}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
