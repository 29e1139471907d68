import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { connectDatabase } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { newSecret } from '../../lib/crypto';
import { scheduleReconciler } from '../../invitations/reconcile';
import type { Logger } from '../../lib/log';
import { parseTokenKeys } from '../../lib/token-keys';
import { apiDeps, closeServer, coreSettings, invitationDeps, listen, requireSharedTokenKeys, runWorker } from '../wiring';
import { connectClient } from '../../temporal/connect';
import { quietRuntime } from '../worker';
import { startEmbeddedPostgres } from './embedded-postgres';
import { type MailCatcher, startMailCatcher } from './mail-catcher';
import { newDevSecrets, seedDemoTenant } from './seed';
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
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch((err) => log.warn('stop failed', { error: String(err) }));
  };

  try {
    const temporal = await startTemporalDevServer({
      cli: findTemporalCli(config.temporal.cli),
      port: Number(config.temporal.address.split(':').at(-1)) || 7233,
      uiPort: config.temporal.uiPort,
      dbFile: path.join(dataDir, 'temporal.sqlite'),
      namespace: config.temporal.namespace,
    });
    stops.push(() => temporal.stop());

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: config.devPostgresPort });
      stops.push(() => pg.stop());
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
    const worker = await runWorker({ db, smtpUrl, mailFrom: config.mailFrom, settings, temporal: temporalSettings, maxCachedWorkflows: config.temporal.maxCachedWorkflows, log });
    stops.push(() => worker.stop());

    const client = await connectClient(temporalSettings);
    stops.push(() => client.connection.close());
    const deps = invitationDeps(db, client, settings, log);
    stops.push(scheduleReconciler(deps));
    const adminToken = config.adminToken ?? (await persistedSecret(path.join(dataDir, 'admin-token'), () => `usher_admin_${newSecret(24)}`));
    const server = await listen(apiDeps(deps, client, { outbox, adminToken, trustProxy: config.trustProxy, limits: config.limits }), config.host, config.port);
    stops.push(() => closeServer(server));

    const base = config.publicBaseUrl;
    process.stdout.write(
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

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      worker.done.then(resolve, resolve);
    });
    process.stdout.write('\nStopping Usher...\n');
  } finally {
    await stopAll();
  }
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
