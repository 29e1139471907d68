import { describe, expect, it } from 'vitest';
import { runManagementCommand } from '../../src/management/cli';
import { call, expectProblem, ok, stack, unique, useManagementApi } from '../support/management-api';

useManagementApi();

describe('the management CLI', () => {
  it('creates a tenant and keys, printing each key once, and revokes keys', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
    const slug = unique('cli');

    expect(await runManagementCommand(['tenant', 'create', '--slug', slug, '--name', 'Via CLI', '--owner-email', `boss@${slug}.example.com`, '--json'], stack.db, io)).toBe(0);
    const made = JSON.parse(lines.pop()!);
    expect(made.tenant.slug).toBe(slug);
    const tenant = await ok(await call('/v1/tenant', { auth: made.apiKey.secret }));
    expect(tenant).toMatchObject({ slug, name: 'Via CLI', defaultRoleSlug: 'member' });

    expect(await runManagementCommand(['api-key', 'create', `--tenant=${slug}`, '--email', `BOSS@${slug}.example.com`, '--name', 'deploy'], stack.db, io)).toBe(0);
    const printed = lines.join('\n');
    const secret = /api key {2}(usher_\S+)/.exec(printed)![1]!;
    const id = /\(id ([0-9a-f-]{36})/.exec(printed)![1]!;
    expect((await ok(await call('/v1/api-keys', { auth: secret }))).data.find((k: any) => k.id === id)).toMatchObject({ name: 'deploy', current: true });

    expect(await runManagementCommand(['api-key', 'revoke', '--id', id], stack.db, io)).toBe(0);
    await expectProblem(await call('/v1/tenant', { auth: secret }), 401, 'unauthorized');

    expect(await runManagementCommand(['tenant', 'list'], stack.db, io)).toBe(0);
    expect(lines.some((l) => l.startsWith(`${slug}\t${made.tenant.id}`))).toBe(true);

    // Refusals: 1 for what the data refuses, 2 for usage.
    expect(await runManagementCommand(['tenant', 'create', '--slug', slug, '--name', 'Again', '--owner-email', 'x@example.com'], stack.db, io)).toBe(1);
    expect(errors.pop()).toMatch(/slug/);
    expect(await runManagementCommand(['api-key', 'create', '--tenant', slug, '--email', 'nobody@example.com'], stack.db, io)).toBe(1);
    expect(await runManagementCommand(['api-key', 'create', '--tenant', 'no-such-tenant', '--email', 'x@example.com'], stack.db, io)).toBe(1);
    expect(await runManagementCommand(['api-key', 'revoke', '--id', 'nope'], stack.db, io)).toBe(1);
    expect(await runManagementCommand(['tenant', 'create', '--slug', unique('cli')], stack.db, io)).toBe(2);
    expect(await runManagementCommand(['tenant', 'create', '--bogus'], stack.db, io)).toBe(2);
    expect(await runManagementCommand(['tenant', 'explode'], stack.db, io)).toBe(2);
    expect(errors.join('\n')).toMatch(/usage:/);
  });
});
