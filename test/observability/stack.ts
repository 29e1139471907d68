import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Db } from '../../src/db/connect';
import { createLogger } from '../../src/lib/log';
import { tokenKeyRing } from '../../src/lib/token-keys';
import { type MailCatcher, startMailCatcher } from '../../src/main/dev/mail-catcher';
import { freePort } from '../../src/main/dev/processes';
import { freeLoopbackPort, registerBacklogGauges, sdkMetricsReader, startMetricsServer } from '../../src/main/observability';
import { apiDeps, closeServer, invitationDeps, listen, type RunningWorker, runWorker } from '../../src/main/wiring';
import { quietRuntime } from '../../src/main/worker';
import { clientInterceptors } from '../../src/temporal/interceptors';
import { freshDatabase } from '../support/database';
import { createTestTenant, type TestTenant } from '../support/tenants';

/**
 * The real stack wired as `usher api` and `usher worker` wire it, in one process: the client carries the
 * interceptors (connectClient's), the Runtime logs through our logger at debug (every line kept in `lines`), and
 * /metrics listens on a free loopback port. Tracing, if a test wants it, is installed before this is called.
 */
export interface ObservedStack {
  baseUrl: string;
  metricsUrl: string;
  db: Db;
  databaseUrl: string;
  /** TOKEN_SECRET as the API and worker were given it. */
  tokenSecret: string;
  mail: MailCatcher;
  client: Client;
  tenant: TestTenant;
  taskQueue: string;
  /** Every log line written so far (API, worker, Temporal SDK), parsed. */
  lines: Record<string, any>[];
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startObservedStack(options: { rejectRecipient?: (address: string) => boolean } = {}): Promise<ObservedStack> {
  const lines: Record<string, any>[] = [];
  const log = createLogger('debug', {}, (line) => lines.push(JSON.parse(line)));
  // The SDK's own metrics, as `usher worker` exports them: on loopback, appended to our /metrics.
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  quietRuntime({ log, prometheusBindAddress: sdkMetricsAddress });

  const database = await freshDatabase();
  const mail = await startMailCatcher({ rejectRecipient: options.rejectRecipient });
  const address = inject('temporalAddress');
  const taskQueue = `usher-obs-${randomBytes(4).toString('hex')}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default', interceptors: clientInterceptors() });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const tokenSecret = randomBytes(32).toString('base64url');
  const settings = {
    tokenKeys: tokenKeyRing(tokenSecret),
    publicBaseUrl: baseUrl,
    taskQueue,
    resendLimits: { cooldownSeconds: 0, perDay: 0, perInvitation: 0 },
  };
  const deps = invitationDeps(database.db, client, settings, log);
  const server = await listen(apiDeps(deps, client, { limits: { writesPerMinute: 0, loginsPerMinute: 0 } }), '127.0.0.1', port);
  registerBacklogGauges(database.db, client, { visibilityScope: `TaskQueue="${taskQueue}"` });
  const metrics: Server = await startMetricsServer({ host: '127.0.0.1', port: 0, log, more: sdkMetricsReader(sdkMetricsAddress) });
  const metricsUrl = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}/metrics`;

  const nativeConnection = await NativeConnection.connect({ address });
  const worker: RunningWorker = await runWorker({
    db: database.db,
    smtpUrl: mail.url,
    mailFrom: 'Usher <invitations@usher.test>',
    settings,
    temporal: { address, namespace: 'default' },
    connection: nativeConnection,
    workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
    log,
  });
  const tenant = await createTestTenant(database.db);

  return {
    baseUrl,
    metricsUrl,
    db: database.db,
    databaseUrl: database.url,
    tokenSecret,
    mail,
    client,
    tenant,
    taskQueue,
    lines,
    api(path, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set('authorization', `Bearer ${tenant.owner.apiKey}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${baseUrl}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body, redirect: 'manual' });
    },
    async stop() {
      await closeServer(server);
      await closeServer(metrics);
      await worker.stop();
      await nativeConnection.close();
      await connection.close();
      await mail.stop();
      await database.drop();
    },
  };
}

/** One Prometheus exposition as { 'name{labels}': value } (labels as written, in their order). */
export async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include all of `labels`. */
export function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    const metric = brace === -1 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const text = brace === -1 ? '' : key.slice(brace);
    if (Object.entries(labels).every(([k, v]) => text.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}
