import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * A port free on loopback right now, picked below the kernel's ephemeral range (32768–60999 on Linux). A port from
 * that range is what port 0 hands out: every outgoing connection, and every server another process starts on port 0
 * (the Temporal dev server's own services), can take it before the caller binds it, and on a busy machine one did.
 * Below the range, only another picker can; with thousands of ports to pick from, that is rare.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low >= 2048) {
    const from = Math.max(1024, low >> 1);
    for (let tries = 0; tries < 50; tries++) {
      const port = from + Math.floor(Math.random() * (low - from));
      if (await canListen(port)) return port;
    }
  }
  return listenOnce(0);
}

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

const canListen = (port: number) => listenOnce(port).then(() => true, () => false);

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/** How a child ended, or undefined while it runs: a child killed by a signal has a signalCode and no exitCode. */
export function exitOf(child: ChildProcess): ChildExit | undefined {
  return child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode, signal: child.signalCode } : undefined;
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (exitOf(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export const describeExit = (exit: ChildExit): string => (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);

/**
 * Tells a child's death apart from its stop: `died` settles only when it exits while nobody called `stopping()`
 * first (it never settles otherwise).
 */
export function watchExit(child: ChildProcess): { died: Promise<ChildExit>; stopping(): void } {
  let stopping = false;
  const died = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping) resolve({ code, signal });
    });
  });
  return { died, stopping: () => (stopping = true) };
}

export interface SupervisedServer {
  died: Promise<ChildExit>;
  stop(): Promise<void>;
}

export interface Supervision<T extends SupervisedServer> {
  current(): T;
  /** Stops watching, then stops the server (whichever incarnation is current). */
  stop(): Promise<void>;
}

/**
 * Keeps a server child alive for the tree it belongs to: when it dies, it is started again (the same port and data,
 * so its clients reconnect) with one line saying so; when it keeps dying (`maxRestarts` restarts within `windowMs`,
 * 3 in 5 minutes unless told otherwise) or will
 * not start, `giveUp` is told with one line and the tree is expected to stop. A death that comes with the tree's own
 * stop (a signal to the whole process group reaches the child and us at about the same moment) is not a crash:
 * `isStopping` is asked again after `graceMs`.
 */
export function supervise<T extends SupervisedServer>(
  name: string,
  first: T,
  options: {
    start: () => Promise<T>;
    isStopping: () => boolean;
    report: (line: string) => void;
    giveUp: (line: string) => void;
    maxRestarts?: number;
    windowMs?: number;
    graceMs?: number;
  },
): Supervision<T> {
  let current = first;
  let watching = true;
  const restarts: number[] = [];
  const maxRestarts = options.maxRestarts ?? 3;
  const windowMs = options.windowMs ?? 5 * 60_000;

  const watch = async (server: T): Promise<void> => {
    const exit = await server.died;
    await new Promise((r) => setTimeout(r, options.graceMs ?? 1_000));
    if (!watching || options.isStopping()) return;
    const now = Date.now();
    while (restarts.length && restarts[0]! < now - windowMs) restarts.shift();
    if (restarts.length >= maxRestarts) {
      watching = false;
      options.giveUp(`${name} ${describeExit(exit)}, its ${ordinal(maxRestarts + 1)} death within ${duration(windowMs)}; stopping everything`);
      return;
    }
    restarts.push(now);
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3 && watching && !options.isStopping(); attempt++) {
      try {
        current = await options.start();
        if (!watching || options.isStopping()) {
          await current.stop();
          return;
        }
        options.report(`${name} ${describeExit(exit)}; restarted it`);
        void watch(current);
        return;
      } catch (err) {
        lastError = err;
        // A killed PostgreSQL leaves backends that hold its shared memory for a moment.
        await new Promise((r) => setTimeout(r, 2_000 * attempt));
      }
    }
    if (!watching || options.isStopping()) return;
    watching = false;
    options.giveUp(`${name} ${describeExit(exit)} and could not be started again (${firstLine(lastError)}); stopping everything`);
  };
  void watch(first);

  return {
    current: () => current,
    async stop() {
      watching = false;
      await current.stop();
    },
  };
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
const duration = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0]!.slice(0, 300);
}
