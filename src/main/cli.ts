import type { Client } from '@temporalio/client';
import { connectDatabase } from '../db/connect';
import { migrateDown, migrateToLatest } from '../db/migrate';
import { invitationUsage, runInvitationCommand } from '../invitations/cli';
import { createLogger } from '../lib/log';
import { managementUsage, runManagementCommand } from '../management/cli';
import { connectClient } from '../temporal/connect';
import type { TokenKeyRing } from '../lib/token-keys';
import { type Config, ConfigError, loadConfig, requireSettings } from './config';
import { observeApi, observeWorker } from './observability';
import { apiDeps, closeServer, coreSettings, invitationDeps, listen, requireSharedTokenKeys, runWorker, startReconciler } from './wiring';

const usage = `usage: usher <command>
  dev              everything locally: Temporal dev server + UI, embedded PostgreSQL, worker, API, mail outbox
  api              the HTTP API (needs DATABASE_URL, TOKEN_SECRET, PUBLIC_BASE_URL; USHER_ADMIN_TOKEN opens /v1/tenants)
  worker           the Temporal worker (needs DATABASE_URL, SMTP_URL, TOKEN_SECRET, PUBLIC_BASE_URL)
  migrate [--down] database migrations (needs DATABASE_URL)
  invitation …     look at and act on invitations: get, list, revoke, resend, extend (needs DATABASE_URL; changes
                   need Temporal too, resend also TOKEN_SECRET and PUBLIC_BASE_URL)`;

/** Exit code of a refused configuration: the operator must change a setting; restarting will not help. */
const CONFIG_EXIT = 2;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  const log = createLogger(config.logLevel, { service: `usher-${command ?? 'cli'}` });

  switch (command) {
    case 'dev': {
      const { runDev } = await import('./dev/run-dev');
      await runDev(config, log);
      return;
    }
    case 'migrate': {
      const c = requireSettings(config, ['databaseUrl']);
      // A migration may run long: no statement deadline.
      const db = connectDatabase(c.databaseUrl, { maxConnections: 1, connectTimeoutMs: c.database.connectTimeoutMs, statementTimeoutMs: 0 });
      try {
        const result = rest.includes('--down') ? await migrateDown(db) : await migrateToLatest(db);
        const ran = result.results ?? [];
        log.info(ran.length ? 'migrations applied' : 'database already up to date', { migrations: ran.map((r) => `${r.direction} ${r.migrationName}`) });
      } finally {
        await db.destroy();
      }
      return;
    }
    case 'api': {
      const c = requireSettings(config, ['databaseUrl', 'tokenSecret', 'publicBaseUrl']);
      const db = connectDatabase(c.databaseUrl, c.database);
      await requireSharedTokenKeys(db, c.tokenKeys);
      const client = await connectClient(c.temporal);
      const observed = await observeApi(c, db, client, log);
      const deps = invitationDeps(db, client, coreSettings(c, c.tokenKeys), log);
      const stopReconciler = startReconciler(deps);
      const server = await listen(apiDeps(deps, client, { adminToken: c.adminToken, trustProxy: c.trustProxy, limits: c.limits }), c.host, c.port);
      log.info('api listening', { host: c.host, port: c.port, publicBaseUrl: c.publicBaseUrl });
      await untilSignal();
      // Stop taking connections, finish the requests in flight (up to the grace period), then let go of the rest.
      log.info('api shutting down', { graceMs: c.shutdownGraceMs });
      stopReconciler();
      await closeServer(server, c.shutdownGraceMs);
      await observed.stop();
      await client.connection.close();
      await db.destroy();
      return;
    }
    case 'worker': {
      const c = requireSettings(config, ['databaseUrl', 'smtpUrl', 'tokenSecret', 'publicBaseUrl']);
      const db = connectDatabase(c.databaseUrl, c.database);
      await requireSharedTokenKeys(db, c.tokenKeys);
      const observed = await observeWorker(c, log);
      const { quietRuntime } = await import('./worker');
      quietRuntime({ log, prometheusBindAddress: observed.sdkMetricsAddress });
      const worker = await runWorker({
        db,
        smtpUrl: c.smtpUrl,
        mailFrom: c.mailFrom,
        settings: coreSettings(c, c.tokenKeys),
        temporal: c.temporal,
        maxCachedWorkflows: c.temporal.maxCachedWorkflows,
        maxWorkflowTasks: c.temporal.maxWorkflowTasks,
        mailRetryMs: c.mailRetryMs,
        // A SIGTERM stops polling at once; activities in flight (a send) get the grace period to finish.
        shutdownGraceMs: c.shutdownGraceMs,
        log,
      });
      observed.healthy(() => worker.worker.getState() === 'RUNNING');
      await Promise.race([untilSignal(), worker.done]);
      log.info('worker shutting down', { graceMs: c.shutdownGraceMs });
      // Activities still running 5 s after the grace period (a send the mail server never answers) are let go: their
      // attempts time out on the server and are retried elsewhere, a send with the same Message-ID.
      const letGo = setTimeout(() => {
        log.warn('worker shutdown grace period expired; activities in flight will be retried elsewhere', { graceMs: c.shutdownGraceMs });
        process.exit(0);
      }, c.shutdownGraceMs + 5_000);
      await worker.stop();
      clearTimeout(letGo);
      await observed.stop();
      await db.destroy();
      return;
    }
    case 'tenant':
    case 'api-key': {
      const c = requireSettings(config, ['databaseUrl']);
      const db = connectDatabase(c.databaseUrl, { maxConnections: 1 });
      try {
        process.exitCode = await runManagementCommand([command, ...rest], db);
      } finally {
        await db.destroy();
      }
      return;
    }
    case 'invitation': {
      process.exitCode = await invitationCommand(config, rest);
      return;
    }
    default:
      process.stderr.write(`${usage}\n${managementUsage}\n${invitationUsage}\n`);
      process.exitCode = command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

const noTokenKeys: TokenKeyRing = {
  get signing(): never {
    throw new ConfigError('invalid configuration: TOKEN_SECRET must be set');
  },
  keys: [],
};

/** `usher invitation …`: the database at once; Temporal (and, to resend, the token keys) only when a change needs it. */
async function invitationCommand(config: Config, rest: string[]): Promise<number> {
  const c = requireSettings(config, ['databaseUrl']);
  const db = connectDatabase(c.databaseUrl, { maxConnections: 2 });
  let client: Client | undefined;
  try {
    return await runInvitationCommand(rest, {
      db,
      async deps() {
        // Only a resend derives a link (a link-only invitation's new one): it alone needs the token keys.
        const keys = rest[0] === 'resend' ? requireSettings(config, ['databaseUrl', 'tokenSecret', 'publicBaseUrl']).tokenKeys : noTokenKeys;
        client ??= await connectClient(c.temporal);
        return invitationDeps(db, client, coreSettings(c, keys), createLogger('silent'));
      },
    });
  } finally {
    await client?.connection.close();
    await db.destroy();
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`usher: ${err.message}\n`);
      process.exit(CONFIG_EXIT);
    }
    process.stderr.write(`usher: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
