/**
 * npm run bench: Usher's create path measured against bare baselines in the same run, on the real stack
 * (embedded PostgreSQL, Temporal dev server, loopback SMTP, worker and API in this process).
 *   BENCH_N (default 200) invitations per phase, BENCH_CONCURRENCY (default 10) for the concurrent phase.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { connectDatabase } from '../src/db/connect';
import { migrateToLatest } from '../src/db/migrate';
import { startEmbeddedPostgres } from '../src/main/dev/embedded-postgres';
import { startMailCatcher } from '../src/main/dev/mail-catcher';
import { newDevSecrets, seedDemoTenant } from '../src/main/dev/seed';
import { freePort } from '../src/main/dev/processes';
import { findTemporalCli, startTemporalDevServer } from '../src/main/dev/temporal-dev-server';
import { createLogger } from '../src/lib/log';
import { tokenKeyRing } from '../src/lib/token-keys';
import { apiDeps, closeServer, invitationDeps, listen, runWorker } from '../src/main/wiring';
import { quietRuntime } from '../src/main/worker';

const N = Number(process.env.BENCH_N ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (v: number) => `${v.toFixed(1)} ms`;

async function timed(count: number, concurrency: number, run: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await run(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), perSecond: count / seconds };
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'usher-bench-'));
  await chmod(dir, 0o755);
  const log = createLogger('silent');
  quietRuntime();
  // BENCH_FSYNC=off shows what durable commits cost on this disk.
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), fast: process.env.BENCH_FSYNC === 'off' });
  const temporal = await startTemporalDevServer({ cli: findTemporalCli(process.env.TEMPORAL_CLI) });
  const mail = await startMailCatcher();
  const db = connectDatabase(await pg.createDatabase('usher_bench'), { maxConnections: 20 });
  await migrateToLatest(db);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const apiKey = `usher_bench_${randomBytes(12).toString('hex')}`;
  await seedDemoTenant(db, { secrets: newDevSecrets(apiKey), publicBaseUrl: baseUrl });
  const settings = { tokenKeys: tokenKeyRing(randomBytes(32).toString('base64url')), publicBaseUrl: baseUrl, taskQueue: 'usher-bench' };
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const server = await listen(apiDeps(invitationDeps(db, client, settings, log), client, { limits: { writesPerMinute: 0, loginsPerMinute: 0 } }), '127.0.0.1', port);

  const create = async (email: string) => {
    const response = await fetch(`${baseUrl}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, role: 'member', message: 'Welcome!' }),
    });
    if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };

  await timed(20, 4, (i) => create(`warmup-${i}@bench.example`));
  // The API alone: no worker yet, so nothing else competes for this process (the workflows wait in Temporal).
  const apiOnly = await timed(N, 1, (i) => create(`api-${i}@bench.example`));
  const maxCachedWorkflows = process.env.WORKER_MAX_CACHED_WORKFLOWS ? Number(process.env.WORKER_MAX_CACHED_WORKFLOWS) : undefined;
  const worker = await runWorker({ db, smtpUrl: mail.url, mailFrom: 'bench@usher.localhost', settings, temporal: { address: temporal.address, namespace: 'default' }, maxCachedWorkflows, log });
  await mail.waitFor(() => mail.messages().length >= N + 20, 120_000);
  const rssBefore = process.memoryUsage().rss;
  const health = await timed(N, 1, async () => {
    await (await fetch(`${baseUrl}/healthz`)).arrayBuffer();
  });
  const bareStart = await timed(N, 1, async (i) => {
    await client.workflow.start('benchNoop', { taskQueue: 'usher-bench-nobody', workflowId: `bench-bare-${i}`, args: [] });
  });
  const sequential = await timed(N, 1, (i) => create(`seq-${i}@bench.example`));
  const concurrent = await timed(N, CONCURRENCY, (i) => create(`con-${i}@bench.example`));
  const delivery = await timed(Math.min(N, 50), 1, async (i) => {
    const email = `mail-${i}@bench.example`;
    await create(email);
    await mail.waitFor((m) => m.to.includes(email), 30_000);
  });
  const rssAfter = process.memoryUsage().rss;

  const rows: [string, string, string, string][] = [
    ['GET /healthz (bare Koa baseline)', ms(health.p50), ms(health.p95), health.perSecond.toFixed(0)],
    ['Temporal start, no row (bare baseline)', ms(bareStart.p50), ms(bareStart.p95), bareStart.perSecond.toFixed(0)],
    ['POST /v1/invitations, API alone', ms(apiOnly.p50), ms(apiOnly.p95), apiOnly.perSecond.toFixed(0)],
    ['POST /v1/invitations, 1 at a time + worker', ms(sequential.p50), ms(sequential.p95), sequential.perSecond.toFixed(0)],
    [`POST /v1/invitations, ${CONCURRENCY} at a time + worker`, ms(concurrent.p50), ms(concurrent.p95), concurrent.perSecond.toFixed(0)],
    ['create → invitation email received', ms(delivery.p50), ms(delivery.p95), delivery.perSecond.toFixed(1)],
  ];
  process.stdout.write(`\nUsher benchmark (N=${N}, node ${process.version}, ${os.cpus().length} cores)\n\n`);
  process.stdout.write(`${'phase'.padEnd(46)}${'p50'.padStart(11)}${'p95'.padStart(11)}${'per s'.padStart(9)}\n`);
  for (const [name, p50, p95, rate] of rows) process.stdout.write(`${name.padEnd(46)}${p50.padStart(11)}${p95.padStart(11)}${rate.padStart(9)}\n`);
  process.stdout.write(
    `\ncreate p50 (API alone) / bare Temporal start p50: ${(apiOnly.p50 / bareStart.p50).toFixed(2)}x\n` +
      `API+worker process RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MiB with ${N + 20} invitations open, ${(rssAfter / 2 ** 20).toFixed(0)} MiB with ${4 * N + 20 + Math.min(N, 50)}\n`,
  );

  await closeServer(server);
  await worker.stop();
  await connection.close();
  await mail.stop();
  await db.destroy();
  await temporal.stop();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
