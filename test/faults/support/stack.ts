import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import pg from 'pg';
import { inject } from 'vitest';
import { connectDatabase, type Db } from '../../../src/db/connect';
import { migrateToLatest } from '../../../src/db/migrate';
import { type EmbeddedDatabaseServer, startEmbeddedPostgres } from '../../../src/main/dev/embedded-postgres';
import { describeExit, exitOf, freePort } from '../../../src/main/dev/processes';
import { type DevServer, findTemporalCli, startTemporalDevServer } from '../../../src/main/dev/temporal-dev-server';
import { createTestTenant, type TestTenant } from '../../support/tenants';
import { type FaultSmtp, type FaultSmtpOptions, startFaultSmtp } from './smtp';

/**
 * One scenario's process tree: `usher api` and `usher worker` as separate processes started exactly as an operator
 * starts them (`node --import tsx src/main/cli.ts api|worker`, configured only by the environment), a loopback SMTP
 * server the test controls, and PostgreSQL and Temporal: the run's shared servers (an own database and task queue),
 * or, for a scenario that stops them, servers of the scenario's own on a data folder so a restart keeps the state.
 */
export interface FaultStackOptions {
  scenario: string;
  /** Own Temporal dev server (SQLite file), which the scenario may stop and start. */
  ownTemporal?: boolean;
  /** Own PostgreSQL server (data folder), which the scenario may stop and start. */
  ownPostgres?: boolean;
  smtp?: FaultSmtpOptions;
  tenant?: { reminderDays?: number[]; defaultTtlDays?: number };
}

export interface UsherProcess {
  name: 'api' | 'worker';
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it wrote (stdout and stderr), for the report when something breaks. */
  tail(lines?: number): string;
}

export interface Restartable {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface FaultStack {
  scenario: string;
  baseUrl: string;
  db: Db;
  client: Client;
  smtp: FaultSmtp;
  tenant: TestTenant;
  taskQueue: string;
  temporalAddress: string;
  /** The environment the usher processes run with (TOKEN_SECRET included). */
  env: Record<string, string>;
  api: UsherProcess;
  worker: UsherProcess;
  startApi(): Promise<UsherProcess>;
  startWorker(): Promise<UsherProcess>;
  /** Present with `ownTemporal` / `ownPostgres`. */
  temporal?: Restartable;
  postgres?: Restartable;
  /** The API with the tenant owner's key. Never throws: a request that got no answer in `timeoutMs` is `null`. */
  request(path: string, init?: { method?: string; json?: unknown; key?: string | null; timeoutMs?: number; headers?: Record<string, string> }): Promise<Answer>;
  stop(): Promise<void>;
}

export interface Answer {
  status: number | null;
  body: any;
  headers: Headers | null;
  ms: number;
  error?: string;
}

const root = process.cwd();
/**
 * How long a process may take to come up. A worker bundles its workflows at start (seconds of CPU); on a shared
 * two-core machine with several scenarios starting at once that has taken minutes. Coming up is not under test.
 */
const STARTUP_MS = 300_000;

export async function startFaultStack(options: FaultStackOptions): Promise<FaultStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `usher-fault-${options.scenario.replace(/[^a-z0-9]+/gi, '-')}-`));
  // As root, PostgreSQL runs as the postgres user, who must reach its data folder.
  await chmod(dir, 0o755);
  const cleanups: (() => Promise<unknown>)[] = [async () => rm(dir, { recursive: true, force: true })];
  const onFailure = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };

  try {
    // PostgreSQL
    let databaseUrl: string;
    let postgres: Restartable | undefined;
    if (options.ownPostgres) {
      const dataDir = path.join(dir, 'pg');
      let server: EmbeddedDatabaseServer | undefined = await startEmbeddedPostgres({ dataDir, fast: true });
      // Started again on the same port: the processes' DATABASE_URL names it.
      const pgPort = server.port;
      databaseUrl = await server.createDatabase('usher');
      postgres = {
        async stop() {
          await server?.stop();
          server = undefined;
        },
        async start() {
          server = await startEmbeddedPostgres({ dataDir, port: pgPort, fast: true });
        },
      };
      cleanups.push(() => postgres!.stop());
    } else {
      const adminUrl = inject('postgresAdminUrl');
      const name = `usher_fault_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      databaseUrl = adminUrl.replace(/\/postgres$/, `/${name}`);
      cleanups.push(async () => {
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      });
    }
    const db = connectDatabase(databaseUrl, { maxConnections: 8 });
    cleanups.push(() => db.destroy());
    await migrateToLatest(db);

    // Temporal
    let temporalAddress: string;
    let temporal: Restartable | undefined;
    if (options.ownTemporal) {
      const settings = { cli: findTemporalCli(process.env.TEMPORAL_CLI), dbFile: path.join(dir, 'temporal.sqlite') };
      let server: DevServer | undefined = await startTemporalDevServer(settings);
      temporalAddress = server.address;
      // Started again on the same port: the processes' TEMPORAL_ADDRESS names it.
      const restartSettings = { ...settings, port: Number(temporalAddress.split(':').at(-1)) };
      temporal = {
        async stop() {
          await server?.stop();
          server = undefined;
        },
        async start() {
          server = await startTemporalDevServer(restartSettings);
        },
      };
      cleanups.push(() => temporal!.stop());
    } else {
      temporalAddress = inject('temporalAddress');
    }
    const connection = await Connection.connect({ address: temporalAddress });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });

    const smtp = await startFaultSmtp(options.smtp);
    cleanups.push(() => smtp.stop());
    const tenant = await createTestTenant(db, options.tenant ?? {});

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const taskQueue = `usher-fault-${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TASK_QUEUE: taskQueue,
      SMTP_URL: smtp.url,
      TOKEN_SECRET: randomBytes(32).toString('base64url'),
      USHER_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
      PUBLIC_BASE_URL: baseUrl,
      PORT: String(port),
      // The suite is the abuse here: per-key write limits and resend limits would only add 429s to the table.
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      RESEND_COOLDOWN_SECONDS: '0',
      RESENDS_PER_DAY: '0',
      RESENDS_PER_INVITATION: '0',
      LOG_LEVEL: process.env.USHER_FAULT_LOG ?? 'warn',
    };

    const running = new Set<UsherProcess>();
    cleanups.push(async () => {
      for (const p of running) p.child.kill('SIGKILL');
      await Promise.all([...running].map((p) => p.exited));
    });

    const spawnUsher = (name: 'api' | 'worker'): UsherProcess => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', name], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      const collect = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(line);
        if (lines.length > 400) lines.splice(0, lines.length - 400);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      const proc: UsherProcess = { name, child, pid: child.pid!, exited, tail: (n = 30) => lines.slice(-n).join('\n') };
      running.add(proc);
      void exited.then(() => running.delete(proc));
      return proc;
    };

    const stack: FaultStack = {
      scenario: options.scenario,
      baseUrl,
      db,
      client,
      smtp,
      tenant,
      taskQueue,
      temporalAddress,
      env,
      api: undefined as unknown as UsherProcess,
      worker: undefined as unknown as UsherProcess,
      temporal,
      postgres,
      async startApi() {
        const api = spawnUsher('api');
        stack.api = api;
        await waitFor(`usher api (pid ${api.pid}) ready`, STARTUP_MS, async () => {
          const exit = exitOf(api.child);
          if (exit) throw new Error(`usher api ${describeExit(exit)}:\n${api.tail()}`);
          const r = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
          return r?.status === 200;
        });
        return api;
      },
      async startWorker() {
        const worker = spawnUsher('worker');
        stack.worker = worker;
        // Polling the task queue is what "ready" means for a worker: Temporal lists it among the queue's pollers.
        await waitFor(`usher worker (pid ${worker.pid}) polling`, STARTUP_MS, async () => {
          const exit = exitOf(worker.child);
          if (exit) throw new Error(`usher worker ${describeExit(exit)}:\n${worker.tail()}`);
          return (await pollerIdentities(client, taskQueue)).some((id) => id.startsWith(`${worker.pid}@`));
        });
        return worker;
      },
      request: (p, init = {}) => request(baseUrl, tenant.owner.apiKey, p, init),
      async stop() {
        await onFailure();
      },
    };
    await Promise.all([stack.startWorker(), stack.startApi()]);
    return stack;
  } catch (err) {
    await onFailure();
    throw err;
  }
}

export async function request(
  baseUrl: string,
  apiKey: string,
  p: string,
  init: { method?: string; json?: unknown; key?: string | null; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? apiKey : init.key;
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (init.json !== undefined) headers.set('content-type', 'application/json');
  const started = Date.now();
  try {
    const response = await fetch(`${baseUrl}${p}`, {
      method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
      headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: response.status, body, headers: response.headers, ms: Date.now() - started };
  } catch (err) {
    return { status: null, body: null, headers: null, ms: Date.now() - started, error: String((err as Error).cause ?? err) };
  }
}

async function pollerIdentities(client: Client, taskQueue: string): Promise<string[]> {
  try {
    const { pollers } = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (pollers ?? []).map((p) => p.identity ?? '');
  } catch {
    return [];
  }
}

/** Polls `check` until it is true; throws (with `what`) after `timeoutMs`, or at once if `check` throws. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** Like waitFor, but says whether it happened instead of throwing. */
export async function eventually(timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, and wait until the process is gone (SIGKILL after `graceMs`); says which it took. */
export async function stopGracefully(p: UsherProcess, graceMs = 30_000): Promise<string> {
  const started = Date.now();
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  return signal === 'SIGKILL' ? `did not exit within ${graceMs / 1000} s of SIGTERM: killed` : `exited ${code ?? signal} ${((Date.now() - started) / 1000).toFixed(1)} s after SIGTERM`;
}

/** kill -9, and wait until the process is gone. */
export async function kill9(p: UsherProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}
