import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Db } from '../../src/db/connect';
import { type MailCatcher, startMailCatcher } from '../../src/main/dev/mail-catcher';
import { freePort } from '../../src/main/dev/processes';
import type { InvitationDeps, ResendLimits } from '../../src/invitations/deps';
import { createLogger, type Logger, type LogLevel } from '../../src/lib/log';
import { apiDeps, closeServer, invitationDeps, listen, runWorker, type RunningWorker } from '../../src/main/wiring';
import { quietRuntime } from '../../src/main/worker';
import { tokenKeyRing } from '../../src/lib/token-keys';
import { type WebhookSettingsInput, webhookSettings } from '../../src/webhooks/settings';
import { freshDatabase } from './database';
import { createTestTenant, type TestTenant } from './tenants';

export interface Stack {
  baseUrl: string;
  db: Db;
  /** The database's URL, for a second connection (e.g. through a proxy a test takes down). */
  databaseUrl: string;
  mail: MailCatcher;
  client: Client;
  deps: InvitationDeps;
  tenant: TestTenant;
  taskQueue: string;
  /** fetch against the API with the tenant owner's key unless another is given. */
  api(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  /** Stops the worker: its in-flight activities are cancelled, as when a worker dies. */
  stopWorker(): Promise<void>;
  /** A fresh worker on the same queue (the running one, if any, is stopped first). */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real stack for one test file: the run's Temporal dev server, a fresh PostgreSQL database, a loopback SMTP
 * server, a worker on the file's own task queue, and the Koa app listening on a free port.
 */
export interface StackOptions {
  log?: Logger;
  resendLimits?: ResendLimits;
  limits?: { writesPerMinute: number; loginsPerMinute: number; requestsInFlight?: number };
  /** Webhooks on: the worker runs their dispatcher with these settings (http and loopback targets allowed). Off by default. */
  webhooks?: WebhookSettingsInput;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const database = await freshDatabase();
  const mail = await startMailCatcher();
  const address = inject('temporalAddress');
  const taskQueue = `usher-test-${randomBytes(4).toString('hex')}`;
  // USHER_TEST_LOG=debug shows the stack's own log lines when a test needs explaining.
  const log = options.log ?? createLogger((process.env.USHER_TEST_LOG as LogLevel | undefined) ?? 'silent');
  const workflowBundle = { code: await readFile(inject('workflowBundlePath'), 'utf8') };

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  // Resends are limited in production; tests that are not about the limits resend freely.
  const settings = {
    tokenKeys: tokenKeyRing(randomBytes(32).toString('base64url')),
    publicBaseUrl: baseUrl,
    taskQueue,
    resendLimits: options.resendLimits ?? { cooldownSeconds: 0, perDay: 0, perInvitation: 0 },
    ...(options.webhooks ? { webhooks: webhookSettings({ allowHttp: true, allowPrivateTargets: true, ...options.webhooks }) } : {}),
  };
  const deps = invitationDeps(database.db, client, settings, log);
  // Likewise rate limits: off unless a test is about them.
  const server = await listen(apiDeps(deps, client, { limits: { requestsInFlight: 0, ...(options.limits ?? { writesPerMinute: 0, loginsPerMinute: 0 }) } }), '127.0.0.1', port);

  quietRuntime();
  const nativeConnection = await NativeConnection.connect({ address });
  const launchWorker = () => runWorker({
    db: database.db,
    smtpUrl: mail.url,
    mailFrom: 'Usher <invitations@usher.test>',
    settings,
    temporal: { address, namespace: 'default' },
    connection: nativeConnection,
    workflowBundle,
    log,
  });
  let worker: RunningWorker = await launchWorker();
  const tenant = await createTestTenant(database.db);

  return {
    baseUrl,
    db: database.db,
    databaseUrl: database.url,
    mail,
    client,
    deps,
    tenant,
    taskQueue,
    api(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      const apiKey = key === undefined ? tenant.owner.apiKey : key;
      if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${baseUrl}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body, redirect: 'manual' });
    },
    async stopWorker() {
      await worker.stop();
    },
    async startWorker() {
      await worker.stop();
      worker = await launchWorker();
    },
    async stop() {
      await closeServer(server);
      await worker.stop();
      await nativeConnection.close();
      await connection.close();
      await mail.stop();
      await database.drop();
    },
  };
}

/** Response bodies in tests are checked by assertions, not by the compiler. */
export const body = async (response: Response): Promise<any> => response.json();
