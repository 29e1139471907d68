/**
 * The stack the bench measures, every part real and every Usher process apart: embedded PostgreSQL (fsync on, with
 * pg_stat_statements), the Temporal dev server (SQLite file), the loopback SMTP server in a child, `usher api` and
 * `usher worker` as child processes (so /proc/<pid>/status gives each one's RSS), and the bare baseline's worker.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { Db } from '../src/db/connect';
import { connectDatabase } from '../src/db/connect';
import { migrateToLatest } from '../src/db/migrate';
import { weakSecret } from '../src/main/config';
import { type EmbeddedDatabaseServer, startEmbeddedPostgres } from '../src/main/dev/embedded-postgres';
import { freePort, stopChild } from '../src/main/dev/processes';
import { newDevSecrets, seedDemoTenant } from '../src/main/dev/seed';
import { type DevServer, findTemporalCli, startTemporalDevServer } from '../src/main/dev/temporal-dev-server';
import type { MailNote } from './mail-child';

export const root = path.resolve(import.meta.dirname, '..');

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resident set size now, in MiB (0 once the process is gone). */
  rssMiB(): number;
  /** The peak resident set size so far (VmHWM), in MiB. */
  peakMiB(): number;
  stop(): Promise<void>;
}

export interface Mailbox {
  url: string;
  /** Messages accepted so far, in all and by tag (the part of the recipient before its first "-"). */
  count(tag?: string): number;
  /** Messages accepted for one address. */
  countTo(address: string): number;
  /** When the last message of a tag arrived (epoch ms). */
  lastAt(tag: string): number;
  /** The message to this address, now or when it arrives. */
  waitFor(to: string, timeoutMs?: number): Promise<MailNote>;
  /** Resolves once `n` messages of a tag have arrived. */
  waitForCount(tag: string, n: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchStack {
  dir: string;
  baseUrl: string;
  apiKey: string;
  tenantId: string;
  /** The demo tenant's owner: the API key's user, the inviter. */
  ownerId: string;
  taskQueue: string;
  bareQueue: string;
  databaseUrl: string;
  temporalAddress: string;
  /** Raw connections for the bench's own reading: counts, statistics, query plans (never Usher's queries). */
  admin: pg.Pool;
  /** Usher's own data access, for seeding and the in-process time-skipping run. */
  db: Db;
  client: Client;
  mail: Mailbox;
  /** The worker's /metrics (its Temporal SDK metrics included). */
  workerMetricsPort: number;
  api: Proc;
  worker: Proc;
  bare: Proc;
  pg: EmbeddedDatabaseServer;
  temporal: DevServer;
  /** Restarts `usher api` and `usher worker` (e.g. with --cpu-prof for a profiled phase). */
  restartUsher(nodeArgs: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Extra node flags for the Usher children (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** How to run the `usher` CLI: the production build's (['--enable-source-maps', '<dir>/cli.js']) or from source (default). */
  entry?: string[];
  log: (line: string) => void;
}

export function readRssMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in clock ticks of 1/100 s on Linux.

/** CPU seconds (user + system) a process has used, with its live children's when asked (PostgreSQL's backends). */
export function cpuSeconds(pid: number, withChildren = false): number {
  const read = (p: number | string) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime; cutime, cstime: the children it has waited for (PostgreSQL backends that have exited).
      return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / TICKS, reaped: (Number(fields[13]) + Number(fields[14])) / TICKS };
    } catch {
      return undefined;
    }
  };
  const own = read(pid);
  let total = own?.cpu ?? 0;
  if (withChildren) {
    total += own?.reaped ?? 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = read(entry);
      if (stat?.ppid === pid) total += stat.cpu;
    }
  }
  return total;
}

function tokenSecret(): string {
  for (;;) {
    const secret = randomBytes(48).toString('base64url');
    if (!weakSecret(secret, 32)) return secret;
  }
}

export async function startBenchStack(options: StackOptions): Promise<BenchStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'usher-bench-'));
  // As root, PostgreSQL runs as the postgres user, who must reach its data folder.
  await chmod(dir, 0o755);
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    // The processes' logs outlive the run, for a look at what went wrong.
    const logs = path.join(os.tmpdir(), 'usher-bench-logs');
    await mkdir(logs, { recursive: true });
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.log'))) await copyFile(path.join(dir, file), path.join(logs, file));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // PostgreSQL as `usher dev` runs it (fsync on), restarted once so pg_stat_statements is loaded.
    const dataDir = path.join(dir, 'pg');
    let server = await startEmbeddedPostgres({ dataDir });
    {
      const client = new pg.Client({ connectionString: server.urlFor('postgres') });
      await client.connect();
      await client.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
      await client.query(`alter system set pg_stat_statements.track = 'all'`);
      await client.query(`alter system set track_io_timing = on`);
      await client.end();
      const port = server.port;
      await server.stop();
      server = await startEmbeddedPostgres({ dataDir, port });
    }
    const pgServer = server;
    cleanups.push(() => pgServer.stop());
    const databaseUrl = await pgServer.createDatabase('usher_bench');
    const admin = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    // An idle connection the server drops (its shutdown at the end) must not end the bench.
    admin.on('error', () => {});
    cleanups.push(() => admin.end());
    await admin.query('create extension if not exists pg_stat_statements');
    const db = connectDatabase(databaseUrl, { maxConnections: 10 });
    cleanups.push(() => db.destroy());
    await migrateToLatest(db);

    const temporal = await startTemporalDevServer({ cli: findTemporalCli(process.env.TEMPORAL_CLI), dbFile: path.join(dir, 'temporal.sqlite') });
    cleanups.push(() => temporal.stop());
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });

    const mail = await startMailbox();
    cleanups.push(() => mail.stop());

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const apiKey = `usher_bench_${randomBytes(16).toString('hex')}`;
    const { tenant, owner } = await seedDemoTenant(db, { secrets: newDevSecrets(apiKey), publicBaseUrl: baseUrl });
    const runId = randomBytes(3).toString('hex');
    const taskQueue = `usher-bench-${runId}`;
    const bareQueue = `bare-bench-${runId}`;
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: taskQueue,
      SMTP_URL: mail.url,
      TOKEN_SECRET: tokenSecret(),
      PUBLIC_BASE_URL: baseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      RESEND_COOLDOWN_SECONDS: '0',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    };

    const workerMetricsPort = await freePort();
    let api: Proc;
    let worker: Proc;
    const entry = options.entry ?? ['--import', 'tsx', 'src/main/cli.ts'];
    const startUsher = async (nodeArgs: string[]) => {
      [api, worker] = await Promise.all([
        startNode('api', [...entry, 'api'], env, nodeArgs, dir, async () => {
          await until(async () => (await fetch(`${baseUrl}/readyz`).then((r) => r.status, () => 0)) === 200, 120_000, 'usher api ready');
        }),
        startNode('worker', [...entry, 'worker'], { ...env, WORKER_METRICS_PORT: String(workerMetricsPort) }, nodeArgs, dir, undefined, 'worker running'),
      ]);
    };
    await startUsher(options.nodeArgs ?? []);
    cleanups.push(() => Promise.all([api!.stop(), worker!.stop()]));

    const bare = await startNode(
      'bare-worker',
      ['--import', 'tsx', 'bench/bare/worker.ts'],
      { ...process.env, TEMPORAL_ADDRESS: temporal.address, TASK_QUEUE: bareQueue },
      [],
      dir,
      undefined,
      'ready',
    );
    cleanups.push(() => bare.stop());

    return {
      dir,
      baseUrl,
      apiKey,
      tenantId: tenant.id,
      ownerId: owner.id,
      taskQueue,
      bareQueue,
      databaseUrl,
      temporalAddress: temporal.address,
      admin,
      db,
      client,
      mail,
      workerMetricsPort,
      get api() {
        return api;
      },
      get worker() {
        return worker;
      },
      bare,
      pg: pgServer,
      temporal,
      async restartUsher(nodeArgs) {
        await Promise.all([api.stop(), worker.stop()]);
        await startUsher(nodeArgs);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A node child in the repository, its output in <dir>/<name>.log; ready when `ready` resolves or its stdout prints `readyLine`. */
async function startNode(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: string[],
  dir: string,
  ready?: () => Promise<void>,
  readyLine?: string,
): Promise<Proc> {
  const log = createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  let seen = false;
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    if (!seen) {
      tail = (tail + chunk.toString()).slice(-20_000);
      if (readyLine && tail.includes(readyLine)) seen = true;
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: Proc = {
    name,
    pid: child.pid!,
    child,
    rssMiB: () => readRssMiB(child.pid!),
    peakMiB: () => readRssMiB(child.pid!, 'VmHWM'),
    async stop() {
      await stopChild(child, 30_000);
      log.end();
    },
  };
  const readiness = ready ? ready() : until(async () => seen, 180_000, `${name}: "${readyLine}"`);
  const outcome = await Promise.race([readiness.then(() => 'ready' as const), exited.then((code) => code)]);
  if (outcome !== 'ready') throw new Error(`${name} exited (${outcome}) before it was ready:\n${tail.slice(-3000)}`);
  return proc;
}

export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const tagOf = (address: string) => address.slice(0, Math.max(0, address.indexOf('-')));

async function startMailbox(): Promise<Mailbox> {
  const child = fork(path.join(root, 'bench/mail-child.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(`mail: ${c}`));
  const byAddress = new Map<string, MailNote>();
  const perAddress = new Map<string, number>();
  const counts = new Map<string, number>();
  const last = new Map<string, number>();
  let total = 0;
  const waiters = new Map<string, (note: MailNote) => void>();
  const countWaiters = new Set<{ tag: string; n: number; resolve: () => void }>();
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`mail catcher exited (${code})`)));
    child.on('message', (message: MailNote | { type: 'ready'; url: string }) => {
      if (message.type === 'ready') return resolve(message.url);
      total++;
      for (const to of message.to) {
        // Only the first email to an address is kept (its invitation); reminders and notices only count.
        if (!byAddress.has(to)) byAddress.set(to, message);
        perAddress.set(to, (perAddress.get(to) ?? 0) + 1);
        const tag = tagOf(to);
        counts.set(tag, (counts.get(tag) ?? 0) + 1);
        last.set(tag, message.at);
        waiters.get(to)?.(message);
        waiters.delete(to);
        for (const w of countWaiters) {
          if (w.tag === tag && (counts.get(tag) ?? 0) >= w.n) {
            countWaiters.delete(w);
            w.resolve();
          }
        }
      }
    });
  });
  return {
    url,
    count: (tag) => (tag === undefined ? total : (counts.get(tag) ?? 0)),
    countTo: (address) => perAddress.get(address) ?? 0,
    lastAt: (tag) => last.get(tag) ?? 0,
    waitFor(to, timeoutMs = 120_000) {
      const found = byAddress.get(to);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(to);
          reject(new Error(`no email to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(to, (note) => {
          clearTimeout(timer);
          resolve(note);
        });
      });
    },
    waitForCount(tag, n, timeoutMs) {
      if ((counts.get(tag) ?? 0) >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = { tag, n, resolve: () => { clearTimeout(timer); resolve(); } };
        const timer = setTimeout(() => {
          countWaiters.delete(waiter);
          reject(new Error(`only ${counts.get(tag) ?? 0} of ${n} "${tag}" emails within ${timeoutMs} ms`));
        }, timeoutMs);
        countWaiters.add(waiter);
      });
    },
    async stop() {
      await stopChild(child, 10_000);
    },
  };
}
