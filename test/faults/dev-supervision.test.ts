import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { describeExit, exitOf, freePort } from '../../src/main/dev/processes';

/**
 * `script/server` (`usher dev`) supervises its tree as a real process: Temporal and PostgreSQL are its children in
 * its own process group; a child that dies is started again and the engine keeps serving; one that keeps dying (a
 * fourth death within five minutes) stops
 * the whole tree with one line; a signal to the group leaves nothing of the tree behind.
 */
let dir: string;
const started: ChildProcess[] = [];

/** Whatever a failed test left running: the whole group, killed. */
function killTrees(): void {
  for (const child of started) {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  }
}

afterEach(async () => {
  killTrees();
  if (dir) await until('the tree gone', 30_000, () => started.every((c) => leftOf(c.pid!, dir).length === 0)).catch(() => {});
});

afterAll(async () => {
  killTrees();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Dev {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  ready: Promise<void>;
  stdout(): string;
  stderr(): string;
}

function startDev(env: Record<string, string>): Dev {
  // Its own process group, as a terminal gives a command: the group is what a signal to "script/server" reaches.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'dev'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = (async () => {
    const deadline = Date.now() + 180_000;
    while (!stdout.includes('Usher is running.')) {
      const exit = exitOf(child);
      if (exit) throw new Error(`usher dev ${describeExit(exit)}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`usher dev did not start: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { child, pid: child.pid!, exited, ready, stdout: () => stdout, stderr: () => stderr };
}

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  args: string;
}

function processes(): Proc[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !m[4]!.startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), args: m[5]! }));
}

/** Every descendant of a process, now (PostgreSQL's backends make process groups of their own: only parentage finds them). */
function descendantsOf(pid: number): Proc[] {
  const all = processes();
  const found: Proc[] = [];
  let frontier = [pid];
  while (frontier.length) {
    const children = all.filter((p) => frontier.includes(p.ppid));
    found.push(...children);
    frontier = children.map((p) => p.pid);
  }
  return found;
}

/** What is left of a tree: processes in its group, on its data folder, or among the descendants it had (`known`). */
function leftOf(pgid: number, dataDir: string, known: Proc[] = []): Proc[] {
  const alive = processes();
  return alive.filter((p) => p.pgid === pgid || p.args.includes(dataDir) || known.some((k) => k.pid === p.pid && k.args === p.args));
}

const temporalOf = (dataDir: string) => processes().find((p) => p.args.includes('start-dev') && p.args.includes(path.join(dataDir, 'temporal.sqlite')));
const postmasterOf = (dataDir: string) => processes().find((p) => p.args.includes(`-D ${path.join(dataDir, 'postgres')}`));

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('script/server supervision', () => {
  let env: Record<string, string>;
  let base: string;

  async function serves(label: string): Promise<void> {
    const key = (await readFile(path.join(dir, 'dev-api-key'), 'utf8')).trim();
    const email = `${label}-${Date.now()}@example.com`;
    // The first create after a restart may find the server still coming up: a 503 says so, and the caller retries.
    const created = await until(`a create after ${label}`, 120_000, async () => {
      const r = await fetch(`${base}/v1/invitations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ email, role: 'member' }),
      }).catch(() => undefined);
      return r?.status === 201 ? r : undefined;
    });
    expect(created.status).toBe(201);
    await until(`the email after ${label}`, 120_000, async () => {
      const outbox = (await (await fetch(`${base}/dev/outbox`, { headers: { accept: 'application/json' } })).json()) as { to: string[] }[];
      return outbox.some((m) => m.to.includes(email));
    });
  }

  it('restarts a killed Temporal or PostgreSQL child and keeps serving; stops the whole tree with one line when one keeps dying', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'usher-supervise-'));
    await chmod(dir, 0o755);
    const [apiPort, temporalPort, uiPort, pgPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    env = { USHER_DATA_DIR: dir, PORT: String(apiPort), TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TEMPORAL_UI_PORT: String(uiPort), USHER_DEV_POSTGRES_PORT: String(pgPort) };
    base = `http://localhost:${apiPort}`;
    const dev = startDev(env);
    await dev.ready;

    // One process group: the children are in the group of `usher dev`.
    const temporal = temporalOf(dir)!;
    const postmaster = postmasterOf(dir)!;
    expect(temporal.pgid).toBe(dev.pid);
    expect(postmaster.pgid).toBe(dev.pid);

    process.kill(temporal.pid, 'SIGKILL');
    await until('a new Temporal', 120_000, () => (temporalOf(dir)?.pid ?? temporal.pid) !== temporal.pid);
    await until('the restart line', 30_000, () => dev.stderr().includes('usher dev: the Temporal dev server killed by SIGKILL; restarted it'), () => `stderr: ${dev.stderr()}`);
    await serves('temporal-restart');

    process.kill(postmaster.pid, 'SIGKILL');
    await until('the PostgreSQL restart line', 90_000, () => dev.stderr().includes('usher dev: PostgreSQL killed by SIGKILL; restarted it'), () => `stderr: ${dev.stderr()}`);
    await serves('postgres-restart');
    expect(dev.child.exitCode).toBeNull();

    // A child that keeps dying: three restarts within five minutes, and the fourth death stops everything. What it
    // prints from here on is judged (before, an activity caught by the PostgreSQL restart may have logged its retry).
    const printedBefore = dev.stderr().length;
    const tree = descendantsOf(dev.pid);
    for (let death = 1; death <= 6 && dev.child.exitCode === null; death++) {
      const current = await until(`Temporal before death ${death}`, 120_000, () => temporalOf(dir) ?? (dev.child.exitCode !== null && 'gone'));
      if (current === 'gone') break;
      process.kill(current.pid, 'SIGKILL');
      await until(`a restart or the stop after death ${death}`, 150_000, () => dev.child.exitCode !== null || (temporalOf(dir)?.pid ?? current.pid) !== current.pid, () => `stderr: ${dev.stderr()}`);
    }
    // Bounded: a supervisor that never gives up fails here with what it printed, rather than at the test's timeout.
    await until('usher dev to stop after the deaths', 120_000, () => dev.child.exitCode !== null, () => `stderr: ${dev.stderr()}`);
    expect(await dev.exited).toBe(1);
    const lines = dev.stderr().slice(printedBefore).trim().split('\n');
    // Either the fourth death ends it, or a restart that will not come up (on a loaded machine): one line, and down.
    expect(lines.at(-1)).toMatch(/^usher dev: the Temporal dev server killed by SIGKILL(, its 4th death within 5 min| and could not be started again \(.+\)); stopping everything$/);
    expect(lines.slice(0, -1).filter((l) => !/^usher dev: (the Temporal dev server|PostgreSQL) killed by SIGKILL; restarted it$/.test(l))).toEqual([]);
    await until('no process of the tree left', 30_000, () => leftOf(dev.pid, dir, tree).length === 0, () => JSON.stringify(leftOf(dev.pid, dir, tree)));
  }, 600_000);

  it('a SIGTERM to the process group stops the whole tree and leaves no orphan', async () => {
    const dev = startDev(env);
    await dev.ready;
    // The whole tree: Temporal and the postmaster in the group, PostgreSQL's backends (groups of their own) below it.
    const tree = descendantsOf(dev.pid);
    expect(tree.some((p) => p.args.includes('start-dev') && p.pgid === dev.pid)).toBe(true);
    expect(tree.some((p) => p.args.includes(`-D ${path.join(dir, 'postgres')}`) && p.pgid === dev.pid)).toBe(true);
    expect(tree.some((p) => p.args.startsWith('postgres: '))).toBe(true);

    process.kill(-dev.pid, 'SIGTERM');
    expect(await dev.exited).toBe(0);
    // The postmaster and Temporal may take a moment after their parent; nothing of the tree may stay.
    await until('no process of the tree left', 30_000, () => leftOf(dev.pid, dir, tree).length === 0, () => JSON.stringify(leftOf(dev.pid, dir, tree)));

  }, 300_000);
});
