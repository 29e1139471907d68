import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { describeExit, exitOf, freePort } from '../../src/main/dev/processes';

/**
 * `usher dev` (what `script/server` runs) as a newcomer uses it: one command brings up Temporal with its UI,
 * PostgreSQL, the worker, the API and the outbox; Ctrl-C stops it all; the next start has the same data.
 */
let dir: string;
const running: ChildProcess[] = [];

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startDev(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'dev'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const ready = (async () => {
    const deadline = Date.now() + 120_000;
    while (!stdout.includes('Usher is running.')) {
      const exit = exitOf(child);
      if (exit) throw new Error(`usher dev ${describeExit(exit)}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`usher dev did not start: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { child, exited, ready, output: () => stdout };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('usher dev', () => {
  it('runs everything with one command, shows the invitation end to end, stops cleanly on Ctrl-C and keeps the data', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'usher-dev-'));
    await chmod(dir, 0o755);
    const [apiPort, temporalPort, uiPort, pgPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env = {
      USHER_DATA_DIR: dir,
      PORT: String(apiPort),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_UI_PORT: String(uiPort),
      USHER_DEV_POSTGRES_PORT: String(pgPort),
    };
    const base = `http://localhost:${apiPort}`;

    const first = startDev(env);
    await first.ready;
    const key = (await readFile(path.join(dir, 'dev-api-key'), 'utf8')).trim();
    expect(first.output()).toContain(`API key      ${key}`);
    expect(first.output()).toContain(`Temporal UI  http://localhost:${uiPort}`);
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
    const credentials = JSON.parse(await readFile(path.join(dir, 'dev-credentials.json'), 'utf8'));
    expect(credentials.usher.apiKey).toBe(key);

    const created = await fetch(`${base}/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.com', role: 'member', message: 'Welcome aboard!' }),
    });
    expect(created.status).toBe(201);
    const { id, workflowId } = (await created.json()) as { id: string; workflowId: string };

    let link: string | undefined;
    await expect
      .poll(async () => {
        const outbox = (await (await fetch(`${base}/dev/outbox`, { headers: { accept: 'application/json' } })).json()) as { to: string[]; acceptLink: string | null }[];
        link = outbox.find((m) => m.to.includes('newcomer@example.com'))?.acceptLink ?? undefined;
        return link;
      }, { timeout: 30_000, interval: 250 })
      .toBeTruthy();
    expect((await fetch(`${base}/dev/outbox`)).headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(link!)).status).toBe(200);
    expect([200, 303]).toContain((await fetch(link!, { method: 'POST', body: new URLSearchParams({ decision: 'accept' }), redirect: 'manual' })).status);

    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    const client = new Client({ connection });
    await expect
      .poll(async () => {
        const found: string[] = [];
        for await (const wf of client.workflow.list({ query: 'InvitationStatus="accepted"' })) found.push(wf.workflowId);
        return found;
      }, { timeout: 30_000, interval: 500 })
      .toContain(workflowId);
    await connection.close();

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(await listening(apiPort)).toBe(false);
    expect(await listening(temporalPort)).toBe(false);
    expect(await listening(pgPort)).toBe(false);

    const second = startDev(env);
    await second.ready;
    const read = await fetch(`${base}/v1/invitations/${id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { status: string }).status).toBe('accepted');
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, 300_000);
});
