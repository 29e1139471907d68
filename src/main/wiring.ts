import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundleOption } from '@temporalio/worker';
import { type Db, ping } from '../db/connect';
import { registerTokenKeys } from '../db/token-keys';
import { createSmtpMailer, type Mailer } from '../email/mailer';
import { compileTemplates } from '../email/templates';
import type { Outbox } from '../http/outbox';
import type { InvitationDeps, ResendLimits } from '../invitations/deps';
import type { Logger } from '../lib/log';
import { keyFingerprint, type TokenKeyRing } from '../lib/token-keys';
import { connectClient, type TemporalConnectionSettings } from '../temporal/connect';
import { invitationWorkflows } from '../temporal/invitation-client';
import type { ApiDeps } from './api-deps';
import { type Config, ConfigError, type Limits } from './config';
import { createApp } from './app';
import { createWorker } from './worker';

export interface CoreSettings {
  tokenKeys: TokenKeyRing;
  publicBaseUrl: string;
  taskQueue: string;
  resendLimits?: ResendLimits;
}

/** Limits that keep one invitation from becoming an email flood; the defaults are the settings' defaults. */
export const defaultResendLimits: ResendLimits = { cooldownSeconds: 60, perDay: 10, perInvitation: 50 };

export function invitationDeps(db: Db, client: Client, settings: CoreSettings, log: Logger): InvitationDeps {
  return {
    db,
    workflows: invitationWorkflows(client, settings.taskQueue),
    tokenKeys: settings.tokenKeys,
    publicBaseUrl: settings.publicBaseUrl,
    resendLimits: settings.resendLimits ?? defaultResendLimits,
    clock: () => new Date(),
    log,
  };
}

export interface ApiOptions {
  outbox?: Outbox;
  adminToken?: string;
  trustProxy?: boolean;
  limits?: Pick<Limits, 'writesPerMinute' | 'loginsPerMinute'>;
}

export function apiDeps(
  deps: InvitationDeps,
  client: Client,
  options: ApiOptions = {},
): ApiDeps {
  return {
    ...deps,
    outbox: options.outbox,
    adminToken: options.adminToken,
    trustProxy: options.trustProxy ?? false,
    rateLimits: { writesPerMinute: options.limits?.writesPerMinute ?? 600, loginsPerMinute: options.limits?.loginsPerMinute ?? 10 },
    readiness: {
      database: () => ping(deps.db),
      temporal: () => client.connection.withDeadline(Date.now() + 2500, () => client.workflowService.getSystemInfo({})),
    },
  };
}

export function coreSettings(config: Config, tokenKeys: TokenKeyRing): CoreSettings {
  const { resendCooldownSeconds, resendsPerDay, resendsPerInvitation } = config.limits;
  return {
    tokenKeys,
    publicBaseUrl: config.publicBaseUrl,
    taskQueue: config.temporal.taskQueue,
    resendLimits: { cooldownSeconds: resendCooldownSeconds, perDay: resendsPerDay, perInvitation: resendsPerInvitation },
  };
}

/** API and worker must derive the same links: a key id whose secret differs from the one the database knows stops start-up. */
export async function requireSharedTokenKeys(db: Db, ring: TokenKeyRing): Promise<void> {
  const differing = await registerTokenKeys(db, ring.keys.map((k) => ({ id: k.id, fingerprint: keyFingerprint(k) })));
  if (differing.length > 0) {
    await db.destroy();
    throw new ConfigError(
      `invalid configuration: TOKEN_SECRET key ${differing.map((id) => `"${id}"`).join(', ')} differs from the one this database's other processes use: API and worker need the same TOKEN_SECRET`,
    );
  }
}

export async function listen(deps: ApiDeps, host: string, port: number): Promise<Server> {
  const app = createApp(deps);
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface RunningWorker {
  worker: Worker;
  mailer: Mailer;
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The worker over real dependencies: the database, SMTP, and MJML templates compiled once here. */
export async function runWorker(options: {
  db: Db;
  smtpUrl: string;
  mailFrom: string;
  settings: CoreSettings;
  temporal: TemporalConnectionSettings;
  connection?: NativeConnection;
  workflowBundle?: WorkflowBundleOption;
  maxCachedWorkflows?: number;
  log: Logger;
}): Promise<RunningWorker> {
  const mailer = createSmtpMailer(options.smtpUrl, options.mailFrom);
  const templates = await compileTemplates();
  // Bulk rows start invitation workflows from inside an activity, so the worker holds a client too.
  const client = await connectClient(options.temporal);
  const worker = await createWorker({
    temporal: options.temporal,
    taskQueue: options.settings.taskQueue,
    connection: options.connection,
    workflowBundle: options.workflowBundle,
    maxCachedWorkflows: options.maxCachedWorkflows,
    deps: {
      db: options.db,
      mailer,
      templates,
      clock: () => new Date(),
      tokenKeys: options.settings.tokenKeys,
      publicBaseUrl: options.settings.publicBaseUrl,
      invitations: invitationDeps(options.db, client, options.settings, options.log),
    },
  });
  const done = worker.run().finally(() => {
    mailer.close();
    return client.connection.close();
  });
  options.log.info('worker running', { taskQueue: options.settings.taskQueue });
  return {
    worker,
    mailer,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
