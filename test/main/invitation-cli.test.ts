import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnCollecting } from '../support/child-process';
import { sentTo } from '../support/mail';
import { type ObservedStack, startObservedStack } from '../observability/stack';

/**
 * `usher invitation get|list|revoke|resend|extend` as an operator runs it: a separate process with only the
 * environment, against the database and Temporal of a running stack (whose worker carries the changes out).
 */
let stack: ObservedStack;

beforeAll(async () => {
  stack = await startObservedStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function usher(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = spawnCollecting(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'invitation', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'warn',
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: stack.taskQueue,
      ...extraEnv,
    },
  });
  return { code: await run.exited, ...run.output() };
}

async function invite(email: string, extra: Record<string, unknown> = {}): Promise<{ id: string; acceptUrl?: string }> {
  const response = await stack.api('/v1/invitations', { method: 'POST', json: { email, role: 'member', ...extra } });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; acceptUrl?: string };
}

const read = async (id: string) => (await (await stack.api(`/v1/invitations/${id}`)).json()) as { status: string; expiresAt: string; timeline: { actor: string; action: string }[] };
const DAY = 24 * 60 * 60 * 1000;

describe('usher invitation', () => {
  it('gets and lists invitations from the database', async () => {
    const a = await invite('cli-a@example.com');
    const b = await invite('cli-b@example.com');

    const got = await usher(['get', a.id, '--json']);
    expect(got.code).toBe(0);
    const view = JSON.parse(got.stdout);
    expect(view).toMatchObject({ id: a.id, email: 'cli-a@example.com', status: 'pending', role: { slug: 'member' }, origin: 'api', tenantId: stack.tenant.id });
    expect(view.timeline.map((e: { action: string }) => e.action)).toContain('invitation.created');

    const human = await usher(['get', '--id', b.id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^invitation {2}${b.id} {2}pending$`, 'm'));
    expect(human.stdout).toMatch(/^timeline$/m);

    const listed = await usher(['list', '--tenant', stack.tenant.slug, '--status', 'pending', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((v: { id: string }) => v.id)).toEqual([b.id, a.id]);
    const byEmail = await usher(['list', `--tenant=${stack.tenant.id}`, '--email', 'CLI-A@example.com']);
    expect(byEmail.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${a.id}\\tpending `))]);
  }, 120_000);

  it('extends, resends and revokes through the same commands as the API, recorded as the cli', async () => {
    const a = await invite('cli-extend@example.com');
    const first = await stack.mail.waitFor(sentTo('cli-extend@example.com'));

    const extended = await usher(['extend', a.id, '--days', '30', '--json']);
    expect(extended.code, extended.stderr).toBe(0);
    const expiresAt = Date.parse(JSON.parse(extended.stdout).expiresAt);
    expect(Math.abs(expiresAt - (Date.now() + 30 * DAY))).toBeLessThan(60_000);
    expect(Date.parse((await read(a.id)).expiresAt)).toBe(expiresAt);

    // A resend derives a new link: it needs the keys the worker has.
    const env = { TOKEN_SECRET: stack.tokenSecret, PUBLIC_BASE_URL: stack.baseUrl };
    const resent = await usher(['resend', a.id], env);
    expect(resent.code, resent.stderr).toBe(0);
    expect(resent.stdout).toMatch(new RegExp(`^resent {3}${a.id}`));
    await expect.poll(() => stack.mail.messages().filter(sentTo('cli-extend@example.com')).length, { timeout: 30_000 }).toBe(2);
    const second = stack.mail.messages().filter(sentTo('cli-extend@example.com'))[1]!;
    expect(second.acceptLink).not.toBe(first.acceptLink);
    expect((await fetch(second.acceptLink!)).status).toBe(200);

    // A link-only invitation: the new link is printed, once.
    const linkOnly = await invite('cli-link@example.com', { sendEmail: false });
    const relinked = await usher(['resend', linkOnly.id, '--json'], env);
    expect(relinked.code, relinked.stderr).toBe(0);
    const { acceptUrl } = JSON.parse(relinked.stdout);
    expect(acceptUrl).toMatch(new RegExp(`^${stack.baseUrl}/invite/`));
    expect(acceptUrl).not.toBe(linkOnly.acceptUrl);
    expect((await fetch(acceptUrl)).status).toBe(200);

    const revoked = await usher(['revoke', a.id, '--reason', 'left the company']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout.trim()).toBe(`revoked  ${a.id}`);
    const after = await read(a.id);
    expect(after.status).toBe('revoked');
    expect(after.timeline).toContainEqual(expect.objectContaining({ actor: 'cli', action: 'invitation.revoked' }));
    expect(after.timeline.filter((e) => e.actor === 'cli').map((e) => e.action)).toEqual(expect.arrayContaining(['invitation.edited', 'invitation.resent', 'invitation.revoked']));
  }, 180_000);

  it('refuses with 1 what the data refuses and with 2 what is not a command', async () => {
    const a = await invite('cli-refused@example.com');
    expect((await usher(['revoke', a.id])).code).toBe(0);

    const [again, unknown, zeroDays, noTenant, keyless] = await Promise.all([
      usher(['revoke', a.id]),
      usher(['get', '0190a3c1-7d2e-7000-8000-1234567890ab']),
      usher(['extend', a.id, '--days', '0']),
      usher(['list', '--tenant', 'no-such-tenant']),
      // Resend without the token keys: a configuration refusal, before anything is sent.
      usher(['resend', a.id]),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^usher: .*revoked/m);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no invitation/);
    expect(zeroDays.code).toBe(1);
    expect(noTenant.code).toBe(1);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(/TOKEN_SECRET, PUBLIC_BASE_URL must be set/);

    const usages = [['get', 'not-an-id', 'another'], ['explode'], ['extend', a.id], ['get', a.id, '--bogus']];
    const runs = await Promise.all(usages.map((args) => usher(args)));
    runs.forEach((run, i) => {
      expect(run.code, usages[i]!.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/usage:/);
    });
  }, 240_000);
});
