import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { type ChildExit, describeExit, exitOf, freePort, stopChild, watchExit } from './processes';
import { searchAttributeKeys } from '../../../workflows/search-attributes';

/** Where to find the Temporal CLI: TEMPORAL_CLI, then `temporal` on PATH, then the project's .tools venv. */
export function findTemporalCli(explicit?: string): string {
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && existsSync(candidate)) return candidate;
  }
  const local = path.resolve('.tools/venv/bin/temporal');
  if (existsSync(local)) return local;
  throw new Error('the Temporal CLI was not found: run script/bootstrap, or set TEMPORAL_CLI');
}

export function findTestServer(): string {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) return fromEnv;
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), path.resolve('.tools/venv/bin')]) {
    const candidate = path.join(dir, 'temporal-test-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error('the Temporal time-skipping test server was not found: run script/bootstrap');
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** The server's process id. */
  pid: number;
  /** Settles when the server exits for any reason other than stop(): a crash, a kill, a signal to the group. */
  died: Promise<ChildExit>;
  stop(): Promise<void>;
}

/**
 * The official `temporal server start-dev`: SQLite in `dbFile` (so workflows survive a restart), Usher's search
 * attributes registered, the Web UI on `uiPort` (0 turns it off).
 */
export interface DevServerOptions {
  cli: string;
  port?: number;
  uiPort?: number;
  dbFile?: string;
  namespace?: string;
  log?: (line: string) => void;
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  // A port picked as free can be taken before the server binds it; with a picked port, try again with another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (options.port || attempt >= 3) throw err;
    }
  }
}

async function startOnce(options: DevServerOptions): Promise<DevServer> {
  const port = options.port || (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', options.namespace ?? 'default', '--log-level', 'warn'];
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    await mkdir(path.dirname(options.dbFile), { recursive: true });
    // SQLite's default (a rollback journal, synced on every commit) made the disk the limit: 94 bare starts/s here,
    // 213/s with a write-ahead log synced at checkpoints. A killed server loses nothing committed; only a crash of the
    // machine itself can lose the last commits, which a development server may (production runs a Temporal cluster).
    args.push('--db-filename', options.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  for (const key of searchAttributeKeys) args.push('--search-attribute', `${key.name}=${searchAttributeTypeName(key.type)}`);
  // An activity scheduled by a workflow task goes straight back to the worker that completed the task, when it has a
  // slot, instead of through the task queue (docs/scaling.md: set it on a production cluster too).
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  // One partition per task queue, not the server's 4: partitions spread a queue over matching hosts, and this server
  // is one. With 4, a poll on an empty partition is forwarded to another: Temporal's CPU per create went 28 → 24 ms
  // and creates 80/s → 90–92/s (docs/benchmark.md).
  args.push('--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1', '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1');

  // In our process group, so a signal to the group (Ctrl-C in a terminal, a supervisor's SIGTERM) stops it too and
  // nothing is left behind.
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const watch = watchExit(child);
  void watch.died.then(() => process.off('exit', killOnExit));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = output.length < 8000 ? output + chunk.toString() : output;
    options.log?.(chunk.toString());
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitForPort(port, child, () => output);
  } catch (err) {
    process.off('exit', killOnExit);
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: options.uiPort ? `http://localhost:${options.uiPort}` : null,
    pid: child.pid!,
    died: watch.died,
    stop: () => {
      process.off('exit', killOnExit);
      watch.stopping();
      return stopChild(child);
    },
  };
}

function searchAttributeTypeName(type: string): string {
  const names: Record<string, string> = { KEYWORD: 'Keyword', DATETIME: 'Datetime', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool' };
  return names[type] ?? type;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = exitOf(child);
    if (exit) throw new Error(`temporal dev server ${describeExit(exit)}: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`temporal dev server did not listen on ${port} within ${timeoutMs} ms: ${output()}`);
}
