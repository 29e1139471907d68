import { z } from 'zod';
import { DEFAULT_REQUESTS_IN_FLIGHT } from '../http/admission';
import { parseTokenKeys, type TokenKeyRing } from '../lib/token-keys';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = (name: string) =>
  optionalString.refine((v) => v === undefined || URL.canParse(v), { message: `${name} must be a URL` });

const optionalPort = z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().min(1).max(65535).optional());
/** true/false when set; undefined when not, for settings whose default depends on the command. */
const optionalFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v === 'true' || v === '1' || v === 'yes'));
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  DATABASE_URL: url('DATABASE_URL'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('usher-invitations-v1'),
  TEMPORAL_CLI: optionalString,
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_TLS: flag,
  TEMPORAL_TLS_CERT: optionalString,
  TEMPORAL_TLS_KEY: optionalString,
  TEMPORAL_TLS_CA: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_API_KEY: optionalString,
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  // The SDK refuses fewer than 2 while it caches workflows.
  WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  SMTP_URL: url('SMTP_URL'),
  MAIL_FROM: z.string().min(3).default('Usher <invitations@usher.localhost>'),
  PUBLIC_BASE_URL: url('PUBLIC_BASE_URL'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port(3000),
  TRUST_PROXY: flag,
  TOKEN_SECRET: optionalString,
  USHER_DEV_API_KEY: optionalString,
  USHER_ADMIN_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 24, { message: 'USHER_ADMIN_TOKEN must be at least 24 characters' }),
  USHER_DATA_DIR: z.string().default('.usher'),
  USHER_DEV_POSTGRES_PORT: port(54329),
  RATE_LIMIT_WRITES_PER_MINUTE: count(600),
  RATE_LIMIT_LOGINS_PER_MINUTE: count(10),
  API_MAX_REQUESTS_IN_FLIGHT: count(DEFAULT_REQUESTS_IN_FLIGHT),
  RESEND_COOLDOWN_SECONDS: count(60),
  RESENDS_PER_DAY: count(10),
  RESENDS_PER_INVITATION: count(50),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // Reliability (docs/reliability.md): how long a send retries transient failures; database deadlines; shutdown drain.
  MAIL_RETRY_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).default(20),
  // Webhook targets: `usher dev` allows http and private addresses unless told otherwise; `usher worker|api` refuse them unless told.
  WEBHOOKS_ALLOW_HTTP: optionalFlag,
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: optionalFlag,
  // /metrics on a listener of its own; unset = no listener. Loopback unless METRICS_HOST opens it.
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: optionalPort,
  WORKER_METRICS_PORT: optionalPort,
  OTEL_EXPORTER_OTLP_ENDPOINT: url('OTEL_EXPORTER_OTLP_ENDPOINT'),
});

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  cli?: string;
  uiPort: number;
  maxCachedWorkflows?: number;
  maxWorkflowTasks?: number;
  /** TLS to the frontend: on (server verified against the system's or `caPath`'s roots), with a client pair for mTLS. */
  tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
  /** Temporal Cloud API key, sent as a bearer token (over TLS). */
  apiKey?: string;
}

/** Abuse limits; 0 switches one off. */
export interface Limits {
  writesPerMinute: number;
  loginsPerMinute: number;
  /** Requests one API process works on at once; more are refused with 503 (src/http/admission.ts). */
  requestsInFlight: number;
  resendCooldownSeconds: number;
  resendsPerDay: number;
  resendsPerInvitation: number;
}

export interface Config {
  databaseUrl?: string;
  temporal: TemporalSettings;
  smtpUrl?: string;
  mailFrom: string;
  publicBaseUrl: string;
  /** False when PUBLIC_BASE_URL was not given and the local default stands in. */
  publicBaseUrlSet: boolean;
  host: string;
  port: number;
  /** Trust X-Forwarded-* (only behind a proxy that sets them). */
  trustProxy: boolean;
  /** The raw TOKEN_SECRET; parsed and judged by requireSettings. */
  tokenSecret?: string;
  devApiKey?: string;
  /** Operator credential for creating and listing tenants (`/v1/tenants`); unset = that surface is closed. */
  adminToken?: string;
  dataDir: string;
  /** `usher dev`'s embedded PostgreSQL; 0 picks a free port. */
  devPostgresPort: number;
  limits: Limits;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** A send retries 4xx, timeouts and refused logins this long, then the invitation fails as undeliverable. */
  mailRetryMs: number;
  /** Pool deadlines: a connection within connectTimeoutMs, a statement within statementTimeoutMs (0 = none). */
  database: { connectTimeoutMs: number; statementTimeoutMs: number };
  /** On SIGTERM: the API finishes requests in flight, the worker its activities, for up to this long. */
  shutdownGraceMs: number;
  /** Webhook targets (http, private addresses) allowed; undefined = the command's default (dev: yes, production: no). */
  webhooks: { allowHttp?: boolean; allowPrivateTargets?: boolean };
  /** Prometheus /metrics listeners (a port unset = none): the API's, the worker's (with the Temporal SDK's metrics). */
  metrics: { host: string; apiPort?: number; workerPort?: number };
  /** OpenTelemetry traces go to this OTLP/HTTP collector; unset = tracing off. */
  otlpEndpoint?: string;
}

export class ConfigError extends Error {}

/** The only reader of process.env. Throws a ConfigError whose message is one line naming the bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid configuration: ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const tlsWanted = e.TEMPORAL_TLS || Boolean(e.TEMPORAL_TLS_CERT || e.TEMPORAL_TLS_CA || e.TEMPORAL_TLS_SERVER_NAME);
  if (Boolean(e.TEMPORAL_TLS_CERT) !== Boolean(e.TEMPORAL_TLS_KEY)) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its key)');
  }
  return {
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TASK_QUEUE,
      cli: e.TEMPORAL_CLI,
      uiPort: e.TEMPORAL_UI_PORT,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      maxWorkflowTasks: e.WORKER_MAX_WORKFLOW_TASKS,
      ...(tlsWanted || e.TEMPORAL_API_KEY
        ? { tls: { certPath: e.TEMPORAL_TLS_CERT, keyPath: e.TEMPORAL_TLS_KEY, caPath: e.TEMPORAL_TLS_CA, serverName: e.TEMPORAL_TLS_SERVER_NAME } }
        : {}),
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
    },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    publicBaseUrlSet: e.PUBLIC_BASE_URL !== undefined,
    host: e.HOST,
    port: e.PORT,
    trustProxy: e.TRUST_PROXY,
    tokenSecret: e.TOKEN_SECRET,
    devApiKey: e.USHER_DEV_API_KEY,
    adminToken: e.USHER_ADMIN_TOKEN,
    dataDir: e.USHER_DATA_DIR,
    devPostgresPort: e.USHER_DEV_POSTGRES_PORT,
    limits: {
      writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE,
      loginsPerMinute: e.RATE_LIMIT_LOGINS_PER_MINUTE,
      requestsInFlight: e.API_MAX_REQUESTS_IN_FLIGHT,
      resendCooldownSeconds: e.RESEND_COOLDOWN_SECONDS,
      resendsPerDay: e.RESENDS_PER_DAY,
      resendsPerInvitation: e.RESENDS_PER_INVITATION,
    },
    logLevel: e.LOG_LEVEL,
    mailRetryMs: Math.round(e.MAIL_RETRY_HOURS * 3_600_000),
    database: { connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS },
    shutdownGraceMs: Math.round(e.SHUTDOWN_GRACE_SECONDS * 1000),
    webhooks: { allowHttp: e.WEBHOOKS_ALLOW_HTTP, allowPrivateTargets: e.WEBHOOKS_ALLOW_PRIVATE_TARGETS },
    metrics: { host: e.METRICS_HOST, apiPort: e.METRICS_PORT, workerPort: e.WORKER_METRICS_PORT },
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
  };
}

const names = { databaseUrl: 'DATABASE_URL', smtpUrl: 'SMTP_URL', tokenSecret: 'TOKEN_SECRET', publicBaseUrl: 'PUBLIC_BASE_URL' } as const;
type Required = keyof typeof names;

export type ProductionConfig<K extends Required> = Config & { [P in Exclude<K, 'publicBaseUrl' | 'tokenSecret'>]-?: NonNullable<Config[P]> } & {
  tokenKeys: TokenKeyRing;
};

/**
 * The production commands (`usher api`, `usher worker`) need what `usher dev` fills in itself, and refuse what is
 * unsafe: a missing or weak TOKEN_SECRET, a placeholder, a missing PUBLIC_BASE_URL, a weak USHER_ADMIN_TOKEN.
 */
export function requireSettings<K extends Required>(config: Config, keys: K[]): ProductionConfig<K> {
  const missing = keys
    .filter((k) => (k === 'publicBaseUrl' ? !config.publicBaseUrlSet : config[k] === undefined))
    .map((k) => names[k]);
  if (missing.length > 0) throw new ConfigError(`invalid configuration: ${missing.join(', ')} must be set`);
  const checked = { ...config } as ProductionConfig<K>;
  if (config.tokenSecret !== undefined) checked.tokenKeys = productionTokenKeys(config.tokenSecret);
  checked.webhooks = { allowHttp: config.webhooks.allowHttp ?? false, allowPrivateTargets: config.webhooks.allowPrivateTargets ?? false };
  if (config.adminToken !== undefined) {
    const weakness = weakSecret(config.adminToken, 32);
    if (weakness) throw new ConfigError(`invalid configuration: USHER_ADMIN_TOKEN ${weakness}`);
  }
  return checked;
}

function productionTokenKeys(value: string): TokenKeyRing {
  let ring: TokenKeyRing;
  try {
    ring = parseTokenKeys(value);
  } catch (err) {
    throw new ConfigError(`invalid configuration: TOKEN_SECRET: ${(err as Error).message}`);
  }
  for (const key of ring.keys) {
    const weakness = weakSecret(key.secret, 32);
    if (weakness) throw new ConfigError(`invalid configuration: TOKEN_SECRET${ring.keys.length > 1 ? ` key "${key.id}"` : ''} ${weakness}`);
  }
  return ring;
}

const PLACEHOLDER = /change[-_ ]?me|changeit|placeholder|example|secret|password|your[-_ ]|xxxx|todo/i;

/** Why a secret is unfit for production, or undefined. */
export function weakSecret(secret: string, minBytes: number): string | undefined {
  if (Buffer.byteLength(secret) < minBytes) return `must be at least ${minBytes} bytes (e.g. openssl rand -base64 48)`;
  if (PLACEHOLDER.test(secret)) return 'is a placeholder: generate one (e.g. openssl rand -base64 48)';
  if (new Set(secret).size < 12) return 'is too regular to be random: generate one (e.g. openssl rand -base64 48)';
  return undefined;
}
