import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createApp } from './app';
import type { ApiDeps } from './api-deps';
import { type Db, ping } from '../db/connect';
import type { Outbox } from '../http/outbox';
import { createSmtpMailer, type Mailer } from '../email/mailer';
import { compileTemplates } from '../email/templates';
import type { InvitationDeps } from '../invitations/deps';
import type { Logger } from '../lib/log';
import { invitationWorkflows } from '../temporal/invitation-client';
import { createWorker } from './worker';
import type { WorkflowBundleOption } from '@temporalio/worker';

export interface CoreSettings {
  tokenSecret: string;
  publicBaseUrl: string;
  taskQueue: string;
}

export function invitationDeps(db: Db, client: Client, settings: CoreSettings, log: Logger): InvitationDeps {
  return {
    db,
    workflows: invitationWorkflows(client, settings.taskQueue),
    tokenSecret: settings.tokenSecret,
    publicBaseUrl: settings.publicBaseUrl,
    clock: () => new Date(),
    log,
  };
}

export function apiDeps(deps: InvitationDeps, client: Client, outbox?: Outbox, adminToken?: string): ApiDeps {
  return {
    ...deps,
    outbox,
    adminToken,
    readiness: {
      database: () => ping(deps.db),
      temporal: () => client.connection.withDeadline(Date.now() + 2500, () => client.workflowService.getSystemInfo({})),
    },
  };
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
  address: string;
  namespace: string;
  connection?: NativeConnection;
  workflowBundle?: WorkflowBundleOption;
  maxCachedWorkflows?: number;
  log: Logger;
}): Promise<RunningWorker> {
  const mailer = createSmtpMailer(options.smtpUrl, options.mailFrom);
  const templates = await compileTemplates();
  // Bulk rows start invitation workflows from inside an activity, so the worker holds a client too.
  const clientConnection = await Connection.connect({ address: options.address });
  const client = new Client({ connection: clientConnection, namespace: options.namespace });
  const worker = await createWorker({
    address: options.address,
    namespace: options.namespace,
    taskQueue: options.settings.taskQueue,
    connection: options.connection,
    workflowBundle: options.workflowBundle,
    maxCachedWorkflows: options.maxCachedWorkflows,
    deps: {
      db: options.db,
      mailer,
      templates,
      clock: () => new Date(),
      tokenSecret: options.settings.tokenSecret,
      publicBaseUrl: options.settings.publicBaseUrl,
      invitations: invitationDeps(options.db, client, options.settings, options.log),
    },
  });
  const done = worker.run().finally(() => {
    mailer.close();
    return clientConnection.close();
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
