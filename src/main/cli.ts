import { connectDatabase } from '../db/connect';
import { migrateDown, migrateToLatest } from '../db/migrate';
import { scheduleReconciler } from '../invitations/reconcile';
import { createLogger } from '../lib/log';
import { managementUsage, runManagementCommand } from '../management/cli';
import { connectClient } from '../temporal/connect';
import { ConfigError, loadConfig, requireSettings } from './config';
import { quietRuntime } from './worker';
import { apiDeps, closeServer, coreSettings, invitationDeps, listen, requireSharedTokenKeys, runWorker } from './wiring';

const usage = `usage: usher <command>
  dev              everything locally: Temporal dev server + UI, embedded PostgreSQL, worker, API, mail outbox
  api              the HTTP API (needs DATABASE_URL, TOKEN_SECRET, PUBLIC_BASE_URL; USHER_ADMIN_TOKEN opens /v1/tenants)
  worker           the Temporal worker (needs DATABASE_URL, SMTP_URL, TOKEN_SECRET, PUBLIC_BASE_URL)
  migrate [--down] database migrations (needs DATABASE_URL)`;

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
      const db = connectDatabase(c.databaseUrl, { maxConnections: 1 });
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
      const db = connectDatabase(c.databaseUrl);
      await requireSharedTokenKeys(db, c.tokenKeys);
      const client = await connectClient(c.temporal);
      const deps = invitationDeps(db, client, coreSettings(c, c.tokenKeys), log);
      const stopReconciler = scheduleReconciler(deps);
      const server = await listen(apiDeps(deps, client, { adminToken: c.adminToken, trustProxy: c.trustProxy, limits: c.limits }), c.host, c.port);
      log.info('api listening', { host: c.host, port: c.port, publicBaseUrl: c.publicBaseUrl });
      await untilSignal();
      stopReconciler();
      await closeServer(server);
      await client.connection.close();
      await db.destroy();
      return;
    }
    case 'worker': {
      const c = requireSettings(config, ['databaseUrl', 'smtpUrl', 'tokenSecret', 'publicBaseUrl']);
      const db = connectDatabase(c.databaseUrl);
      await requireSharedTokenKeys(db, c.tokenKeys);
      quietRuntime();
      const worker = await runWorker({
        db,
        smtpUrl: c.smtpUrl,
        mailFrom: c.mailFrom,
        settings: coreSettings(c, c.tokenKeys),
        temporal: c.temporal,
        maxCachedWorkflows: c.temporal.maxCachedWorkflows,
        log,
      });
      await Promise.race([untilSignal(), worker.done]);
      await worker.stop();
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
    default:
      process.stderr.write(`${usage}\n${managementUsage}\n`);
      process.exitCode = command === undefined || command === 'help' || command === '--help' ? 0 : 2;
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
