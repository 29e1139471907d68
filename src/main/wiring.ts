import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundleOption } from '@temporalio/worker';
import { type Db, ping } from '../db/connect';
import { registerTokenKeys } from '../db/token-keys';
import { createSmtpMailer, type Mailer, type SmtpTimeouts } from '../email/mailer';
import { compileTemplates } from '../email/templates';
import { DEFAULT_REQUESTS_IN_FLIGHT } from '../http/admission';
import type { Outbox } from '../http/outbox';
import { startUnstartedBatches } from '../bulk/reconcile';
import type { InvitationDeps, ResendLimits } from '../invitations/deps';
import { scheduleReconciler } from '../invitations/reconcile';
import type { Logger } from '../lib/log';
import { keyFingerprint, type TokenKeyRing } from '../lib/token-keys';
import { connectClient, type TemporalConnectionSettings } from '../temporal/connect';
import { invitationWorkflows } from '../temporal/invitation-client';
import { startWebhookDispatcher } from '../webhooks/dispatcher';
import { type WebhookSettings, webhookSettings } from '../webhooks/settings';
import type { ApiDeps } from './api-deps';
import { type Config, ConfigError, type Limits } from './config';
import { createApp } from './app';
import { tracedMailer } from './observability';

export interface CoreSettings {
  tokenKeys: TokenKeyRing;
  publicBaseUrl: string;
  taskQueue: string;
  resendLimits?: ResendLimits;
  /** Webhooks: the worker runs their dispatcher, the API checks endpoint URLs by them. Unset: no dispatcher, production's URL rules. */
  webhooks?: WebhookSettings;
}

/** Limits that keep one invitation from becoming an email flood; the defaults are the settings' defaults. */
export const defaultResendLimits: ResendLimits = { cooldownSeconds: 60, perDay: 10, perInvitation: 50 };

export function invitationDeps(db: Db, client: Client, settings: CoreSettings, log: Logger): InvitationDeps & { webhooks?: WebhookSettings } {
  return {
    db,
    workflows: invitationWorkflows(client, settings.taskQueue),
    tokenKeys: settings.tokenKeys,
    publicBaseUrl: settings.publicBaseUrl,
    resendLimits: settings.resendLimits ?? defaultResendLimits,
    clock: () => new Date(),
    log,
    webhooks: settings.webhooks,
  };
}

export interface ApiOptions {
  outbox?: Outbox;
  adminToken?: string;
  trustProxy?: boolean;
  limits?: Pick<Limits, 'writesPerMinute' | 'loginsPerMinute'> & Partial<Pick<Limits, 'requestsInFlight'>>;
}

export function apiDeps(
  deps: InvitationDeps,
  // Kept for the callers: readiness now asks deps.workflows, whose circuit knows when Temporal is down.
  _client: Client,
  options: ApiOptions = {},
): ApiDeps {
  return {
    ...deps,
    outbox: options.outbox,
    adminToken: options.adminToken,
    trustProxy: options.trustProxy ?? false,
    rateLimits: {
      writesPerMinute: options.limits?.writesPerMinute ?? 600,
      loginsPerMinute: options.limits?.loginsPerMinute ?? 10,
      requestsInFlight: options.limits?.requestsInFlight ?? DEFAULT_REQUESTS_IN_FLIGHT,
    },
    readiness: {
      database: () => ping(deps.db),
      // Through the invitation client's circuit: known down is answered at once, and up again within a second.
      temporal: () => deps.workflows.ping(),
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
    // Unset here means `usher dev`: the production commands' requireSettings has already made them false.
    webhooks: webhookSettings({ allowHttp: config.webhooks.allowHttp ?? true, allowPrivateTargets: config.webhooks.allowPrivateTargets ?? true }),
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

interface DrainState {
  draining: boolean;
  /** Responses not yet sent: told to close their connection when the drain begins. */
  answering: Set<ServerResponse>;
}
const drains = new WeakMap<Server, DrainState>();

export async function listen(deps: ApiDeps, host: string, port: number): Promise<Server> {
  const state: DrainState = { draining: false, answering: new Set() };
  const app = createApp({ ...deps, shuttingDown: () => state.draining });
  const handle = app.callback();
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      // While draining, every answer tells the client not to reuse its connection.
      if (state.draining) res.setHeader('Connection', 'close');
      state.answering.add(res);
      res.once('close', () => state.answering.delete(res));
      void handle(req, res);
    });
    drains.set(server, state);
    server.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * Stops accepting connections, lets the requests in flight finish (closing each connection as it falls idle), and
 * after `graceMs` cuts whatever is left. With no grace, everything is cut at once (tests).
 */
export async function closeServer(server: Server, graceMs = 0): Promise<void> {
  const state = drains.get(server);
  if (state) {
    state.draining = true;
    for (const res of state.answering) if (!res.headersSent) res.setHeader('Connection', 'close');
  }
  await new Promise<void>((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
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
  maxWorkflowTasks?: number;
  /** MAIL_RETRY_HOURS; 24 h if unset. */
  mailRetryMs?: number;
  smtpTimeouts?: SmtpTimeouts;
  /** How long a shutdown waits for activities in flight before cancelling them (SHUTDOWN_GRACE_SECONDS). */
  shutdownGraceMs?: number;
  log: Logger;
}): Promise<RunningWorker> {
  // Each SMTP send is a span under its activity's (src/main/observability.ts).
  const mailer = tracedMailer(createSmtpMailer(options.smtpUrl, options.mailFrom, options.smtpTimeouts));
  const templates = await compileTemplates();
  // Bulk rows start invitation workflows from inside an activity, so the worker holds a client too.
  const client = await connectClient(options.temporal);
  // Loaded only where a worker runs: the SDK's worker (and its bundler) is memory the API process does without.
  const { createWorker } = await import('./worker');
  const worker = await createWorker({
    temporal: options.temporal,
    taskQueue: options.settings.taskQueue,
    connection: options.connection,
    workflowBundle: options.workflowBundle,
    maxCachedWorkflows: options.maxCachedWorkflows,
    maxWorkflowTasks: options.maxWorkflowTasks,
    shutdownGraceMs: options.shutdownGraceMs,
    deps: {
      db: options.db,
      mailer,
      templates,
      clock: () => new Date(),
      tokenKeys: options.settings.tokenKeys,
      publicBaseUrl: options.settings.publicBaseUrl,
      invitations: invitationDeps(options.db, client, options.settings, options.log),
      webhooks: options.settings.webhooks,
      ...(options.mailRetryMs !== undefined ? { mailRetryMs: options.mailRetryMs } : {}),
    },
  });
  const webhooks = options.settings.webhooks;
  const dispatcher = webhooks && startWebhookDispatcher({ db: options.db, client, taskQueue: options.settings.taskQueue, settings: webhooks, log: options.log });
  const done = worker.run().finally(() =>
    (dispatcher ? dispatcher.stop() : Promise.resolve()).then(() => {
      mailer.close();
      return client.connection.close();
    }),
  );
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

/** Every repair the API runs in the background: the invitations' own two, then bulk's. */
export function startReconciler(deps: InvitationDeps): () => void {
  return scheduleReconciler(deps, undefined, [startUnstartedBatches]);
}
