import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docker-compose.yml is the production sample: it must be a valid Compose file, start only once the operator has
 * supplied real secrets, and publish Temporal, PostgreSQL and Mailpit on the host's loopback at most.
 */
const checkJsonschema = '.tools/venv/bin/check-jsonschema';

function validate(file: string) {
  return new Promise<{ code: number; output: string }>((resolve, reject) => {
    execFile(checkJsonschema, ['--builtin-schema', 'vendor.compose-spec', file], (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new Error(`${checkJsonschema} is missing: run script/bootstrap`));
      else resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
    });
  });
}

const compose = () => readFile('docker-compose.yml', 'utf8');

/** The short-syntax entries of every `ports:` list, e.g. `127.0.0.1:8080:8080`. */
function publishedPorts(text: string): string[] {
  const entries: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const ports = /^(\s*)ports:\s*$/.exec(line);
    if (!ports) return;
    for (const entry of lines.slice(i + 1)) {
      const item = /^(\s*)-\s*(.*?)\s*$/.exec(entry);
      if (!item?.[2] || (item[1] ?? '').length <= (ports[1] ?? '').length) break;
      entries.push(item[2].replace(/^"(.*)"$/, '$1'));
    }
  });
  return entries;
}

/** The lines of one service's block, up to the next service. */
function serviceBlock(text: string, name: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  if (start < 0) expect.fail(`no service ${name}`);
  const end = lines.findIndex((line, i) => i > start && /^ {0,2}\S/.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

describe('docker-compose.yml', () => {
  it('starts the worker before the API, so an upgrade brings the new workflow code up before the API starts invitations on it', async () => {
    expect(serviceBlock(await compose(), 'api')).toMatch(/\n {4}depends_on:\n(?: {6}.*\n| {8}.*\n)*? {6}worker:\n {8}condition: service_started\n/);
  });

  it('passes the Compose specification schema', async () => {
    expect(await validate('docker-compose.yml')).toEqual({ code: 0, output: expect.stringContaining('ok') });
  });

  it('would fail that check if it were broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'usher-compose-'));
    try {
      const original = await compose();
      const broken = original.replace(/^ {2}migrate:\n/m, '  migrate:\n    ports: "not-a-list"\n');
      expect(broken).not.toBe(original);
      await writeFile(join(dir, 'docker-compose.yml'), broken);
      const result = await validate(join(dir, 'docker-compose.yml'));
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/services\.migrate\.ports: 'not-a-list' is not of type 'array'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes every secret and the public URL from the environment, refusing to start without them', async () => {
    const text = await compose();
    expect(text).not.toMatch(/change-?me/i);
    for (const name of ['TOKEN_SECRET', 'USHER_ADMIN_TOKEN', 'POSTGRES_PASSWORD', 'PUBLIC_BASE_URL']) {
      const settings = [...text.matchAll(new RegExp(`^\\s*${name}:(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
      expect(settings.length, name).toBeGreaterThan(0);
      for (const value of settings) expect(value, name).toMatch(new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`));
    }
    expect(text).toMatch(/^\s*TOKEN_SECRET: \$\{TOKEN_SECRET:\?set TOKEN_SECRET to 32\+ random bytes/m);
    // PostgreSQL, Temporal and Usher all use that one password.
    expect(text).toMatch(/^\s*DATABASE_URL: postgres:\/\/usher:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/usher$/m);
    expect(text).toMatch(/^\s*POSTGRES_PWD: \$\{POSTGRES_PASSWORD:\?[^}]+\}$/m);
  });

  it('lists every required variable in .env.example, without a value', async () => {
    const required = new Set([...(await compose()).matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]));
    const example = await readFile('.env.example', 'utf8');
    expect([...required].sort()).toEqual(['POSTGRES_PASSWORD', 'PUBLIC_BASE_URL', 'TOKEN_SECRET', 'USHER_ADMIN_TOKEN']);
    for (const name of required) expect(example, name).toMatch(new RegExp(`^${name}=$`, 'm'));
  });

  it('publishes Temporal, its UI, PostgreSQL and Mailpit only on the loopback', async () => {
    const ports = publishedPorts(await compose());
    expect(ports).toContain('3000:3000'); // the API, for everyone
    for (const entry of ports) {
      // Short syntax only, so this test sees every published port: [host ip:]host port:container port[/protocol].
      const [, hostIp, , containerPort = ''] = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(entry) ?? expect.fail(`unexpected ports entry ${entry}`);
      // Temporal's frontend, its UI, PostgreSQL, Mailpit's UI and its SMTP port.
      if (['7233', '8080', '5432', '8025', '1025'].includes(containerPort)) expect(hostIp, entry).toBe('127.0.0.1');
    }
  });
});
