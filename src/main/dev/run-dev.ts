import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { connectDatabase } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { newSecret } from '../../lib/crypto';
import type { Logger } from '../../lib/log';
import { parseTokenKeys } from '../../lib/token-keys';
import { apiDeps, closeServer, coreSettings, invitationDeps, listen, requireSharedTokenKeys, runWorker, startReconciler } from '../wiring';
import { connectClient } from '../../temporal/connect';
import { quietRuntime } from '../worker';
import { startEmbeddedPostgres } from './embedded-postgres';
import { type MailCatcher, startMailCatcher } from './mail-catcher';
import { newDevSecrets, seedDemoTenant } from './seed';
import { supervise } from './processes';
import { findTemporalCli, startTemporalDevServer } from './temporal-dev-server';

/**
 * Everything in one process tree: Temporal dev server (with UI), embedded PostgreSQL unless DATABASE_URL is set,
 * migrations, the worker, the API, and a local SMTP outbox unless SMTP_URL is set. State lives in the data folder,
 * so a restart keeps invitations, workflows, emails and the demo key.
 */
export async function runDev(config: Config, log: Logger): Promise<void> {
  const dataDir = path.resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const stops: (() => unknown)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      // A step that hangs (a worker draining towards a server that is gone) must not keep the rest running.
      await withDeadline(Promise.resolve().then(stop), STOP_STEP_MS).catch((err) => log.warn('stop failed', { error: String(err) }));
    }
  };

  // One process tree, one process group: Temporal and PostgreSQL are our children in our group, so a signal to the
  // group stops all of it. From the first moment a stop signal means "stop everything, in order".
  let stopping = false;
  let stop: (reason: string | null) => void = () => {};
  const stopRequested = new Promise<string | null>((resolve) => {
    stop = (reason) => {
      stopping = true;
      resolve(reason);
    };
  });
  const onSignal = () => stop(null);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A dead Temporal or PostgreSQL child is started again, with one line; one that keeps dying stops the whole tree.
  const supervision = {
    isStopping: () => stopping,
    report: (line: string) => process.stderr.write(`usher dev: ${line}\n`),
    giveUp: (line: string) => stop(line),
  };

  try {
    const temporalOptions = {
      cli: findTemporalCli(config.temporal.cli),
      port: Number(config.temporal.address.split(':').at(-1)) || 7233,
      uiPort: config.temporal.uiPort,
      dbFile: path.join(dataDir, 'temporal.sqlite'),
      namespace: config.temporal.namespace,
    };
    const temporal = await startTemporalDevServer(temporalOptions);
    const temporalChild = supervise('the Temporal dev server', temporal, { ...supervision, start: () => startTemporalDevServer(temporalOptions) });
    stops.push(() => temporalChild.stop());

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pgOptions = { dataDir: path.join(dataDir, 'postgres'), port: config.devPostgresPort };
      const pg = await startEmbeddedPostgres(pgOptions);
      // Started again on the port it has now (a free one was picked if none was set).
      const pgChild = supervise('PostgreSQL', pg, { ...supervision, start: () => startEmbeddedPostgres({ ...pgOptions, port: pg.port }) });
      stops.push(() => pgChild.stop());
      databaseUrl = await pg.createDatabase('usher');
    }
    const db = connectDatabase(databaseUrl);
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    let smtpUrl = config.smtpUrl;
    let outbox: MailCatcher | undefined;
    if (!smtpUrl) {
      outbox = await startMailCatcher({ file: path.join(dataDir, 'outbox.jsonl'), port: 0 });
      stops.push(() => outbox!.stop());
      smtpUrl = outbox.url;
    }

    const tokenSecret = config.tokenSecret ?? (await persistedSecret(path.join(dataDir, 'token-secret'), () => newSecret()));
    const apiKey = config.devApiKey ?? (await persistedSecret(path.join(dataDir, 'dev-api-key'), () => `usher_dev_${newSecret(18)}`));
    const secrets = { ...(await persistedJson(path.join(dataDir, 'dev-secrets.json'), () => newDevSecrets())), apiKey };
    // Dev takes TOKEN_SECRET as given (a ring too) without production's strength rules.
    const tokenKeys = parseTokenKeys(tokenSecret);
    await requireSharedTokenKeys(db, tokenKeys);
    const settings = coreSettings(config, tokenKeys);
    const temporalSettings = { ...config.temporal, address: temporal.address };
    const { tenant, credentials } = await seedDemoTenant(db, { secrets, publicBaseUrl: config.publicBaseUrl });
    const credentialsFile = path.join(dataDir, 'dev-credentials.json');
    await writeFile(credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });

    quietRuntime();
    const worker = await runWorker({ db, smtpUrl, mailFrom: config.mailFrom, settings, temporal: temporalSettings, maxCachedWorkflows: config.temporal.maxCachedWorkflows, maxWorkflowTasks: config.temporal.maxWorkflowTasks, log });
    stops.push(() => worker.stop());
    // A worker that stops by itself leaves an engine that takes invitations and never sends them: stop it all.
    worker.done.then(
      () => stop('the worker stopped; stopping everything'),
      (err: unknown) => stop(`the worker failed (${String(err instanceof Error ? err.message : err).split('\n')[0]}); stopping everything`),
    );

    const client = await connectClient(temporalSettings);
    stops.push(() => client.connection.close());
    const deps = invitationDeps(db, client, settings, log);
    stops.push(startReconciler(deps));
    const adminToken = config.adminToken ?? (await persistedSecret(path.join(dataDir, 'admin-token'), () => `usher_admin_${newSecret(24)}`));
    const server = await listen(apiDeps(deps, client, { outbox, adminToken, trustProxy: config.trustProxy, limits: config.limits }), config.host, config.port);
    stops.push(() => closeServer(server));

    const base = config.publicBaseUrl;
    // A stop asked for while starting skips the welcome.
    if (!stopping) process.stdout.write(
      [
        '',
        'Usher is running.',
        `  API          ${base}   (OpenAPI: ${base}/openapi.json)`,
        `  Temporal UI  ${temporal.uiUrl ?? '(off)'}   (server ${temporal.address})`,
        outbox ? `  Outbox       ${base}/dev/outbox` : `  SMTP         ${smtpUrl.replace(/\/\/[^@]*@/, '//***@')}`,
        `  Database     ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL ${databaseUrl}, data in ${path.join(dataDir, 'postgres')}`}`,
        `  Tenant       ${tenant.name} (${tenant.slug}), roles: owner, admin, member`,
        `  API key      ${apiKey}`,
        `  Admin token  ${adminToken}   (operators: /v1/tenants)`,
        '',
        `Seed APIs (all in ${credentialsFile}):`,
        `  Mendix       POST ${credentials.mendix.endpoint}  EnvironmentUUID=${credentials.mendix.EnvironmentUUID} EnvironmentPassword=${credentials.mendix.EnvironmentPassword}`,
        `               InviterEmailAddress=${credentials.mendix.InviterEmailAddress} RoleUUID(member)=${credentials.mendix.roles.member}`,
        `  Quickbase    ${base}/db/${credentials.quickbase.dbid}  ticket=${credentials.quickbase.ticket} apptoken=${credentials.quickbase.apptoken} usertoken=${credentials.quickbase.usertoken}`,
        `               API_Authenticate username=${credentials.quickbase.username} password=${credentials.quickbase.password}; userid ${credentials.quickbase.userids.sample}`,
        `  SAP          POST ${credentials.sap.endpoint}  Basic ${credentials.sap.clientId}:${credentials.sap.clientSecret}`,
        `  Akana        POST ${credentials.akana.endpoint}  Cookie: ${credentials.akana.cookie}  ${credentials.akana.csrfHeader}: ${credentials.akana.csrfToken}`,
        `               or log in: POST ${credentials.akana.login}  email=${credentials.akana.email} password=${credentials.akana.password}`,
        `  Royalti      POST ${credentials.royalti.endpoint}  Authorization: Bearer <royalti.jwt in the file>`,
        '',
        'Try it:',
        `  curl -s ${base}/v1/invitations -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' \\`,
        `    -d '{"email":"ada@example.com","role":"member","message":"Welcome aboard!"}'`,
        '',
        `Ctrl-C stops everything; data stays in ${dataDir}`,
        '',
      ].join('\n'),
    );

    const reason = await stopRequested;
    if (reason) {
      // One clear line, and a failing exit: the tree is down because part of it died.
      process.stderr.write(`usher dev: ${reason}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write('\nStopping Usher...\n');
    }
  } finally {
    stopping = true;
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const STOP_STEP_MS = 20_000;

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not stop within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function persistedJson<T>(file: string, make: () => T): Promise<T> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as T;
  const value = make();
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  return value;
}

async function persistedSecret(file: string, make: () => string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const value = make();
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}
