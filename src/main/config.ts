import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = (name: string) =>
  optionalString.refine((v) => v === undefined || URL.canParse(v), { message: `${name} must be a URL` });

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const configSchema = z.object({
  DATABASE_URL: url('DATABASE_URL'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('usher-invitations-v1'),
  TEMPORAL_CLI: optionalString,
  TEMPORAL_UI_PORT: port(8233),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  SMTP_URL: url('SMTP_URL'),
  MAIL_FROM: z.string().min(3).default('Usher <invitations@usher.localhost>'),
  PUBLIC_BASE_URL: url('PUBLIC_BASE_URL'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port(3000),
  TOKEN_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: 'TOKEN_SECRET must be at least 32 characters',
  }),
  USHER_DEV_API_KEY: optionalString,
  USHER_ADMIN_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 24, { message: 'USHER_ADMIN_TOKEN must be at least 24 characters' }),
  USHER_DATA_DIR: z.string().default('.usher'),
  USHER_DEV_POSTGRES_PORT: port(54329),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export interface Config {
  databaseUrl?: string;
  temporal: { address: string; namespace: string; taskQueue: string; cli?: string; uiPort: number; maxCachedWorkflows?: number };
  smtpUrl?: string;
  mailFrom: string;
  publicBaseUrl: string;
  host: string;
  port: number;
  tokenSecret?: string;
  devApiKey?: string;
  /** Operator credential for creating and listing tenants (`/v1/tenants`); unset = that surface is closed. */
  adminToken?: string;
  dataDir: string;
  /** `usher dev`'s embedded PostgreSQL; 0 picks a free port. */
  devPostgresPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
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
  return {
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TASK_QUEUE,
      cli: e.TEMPORAL_CLI,
      uiPort: e.TEMPORAL_UI_PORT,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    host: e.HOST,
    port: e.PORT,
    tokenSecret: e.TOKEN_SECRET,
    devApiKey: e.USHER_DEV_API_KEY,
    adminToken: e.USHER_ADMIN_TOKEN,
    dataDir: e.USHER_DATA_DIR,
    devPostgresPort: e.USHER_DEV_POSTGRES_PORT,
    logLevel: e.LOG_LEVEL,
  };
}

/** Production commands need settings that `usher dev` fills in itself. */
export function requireSettings<K extends 'databaseUrl' | 'smtpUrl' | 'tokenSecret'>(
  config: Config,
  keys: K[],
): Config & Required<Pick<Config, K>> {
  const names = { databaseUrl: 'DATABASE_URL', smtpUrl: 'SMTP_URL', tokenSecret: 'TOKEN_SECRET' } as const;
  const missing = keys.filter((k) => config[k] === undefined).map((k) => names[k]);
  if (missing.length > 0) throw new ConfigError(`invalid configuration: ${missing.join(', ')} must be set`);
  return config as Config & Required<Pick<Config, K>>;
}
