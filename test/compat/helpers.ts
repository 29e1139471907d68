import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { canonicalEmail } from '../../src/lib/email-address';
import { sentTo } from '../support/mail';
import { expectStaysTrue, untilSendsSettled } from '../support/settled';
import type { Stack } from '../support/stack';

/** The tenant's invitations to one address, oldest first. */
export const invitationsOf = (stack: Stack, address: string) =>
  stack.db
    .selectFrom('invitations')
    .selectAll()
    .where('tenant_id', '=', stack.tenant.id)
    .where('email_canonical', '=', canonicalEmail(address))
    .orderBy('created_at')
    .execute();

const mailTo = (stack: Stack, address: string) => stack.mail.messages().filter(sentTo(address));

/**
 * A repeated seed call for someone whose invitation is open: still one invitation, and it was sent again, so the
 * mailbox holds exactly two emails, each with its own link (the second generation's).
 */
export async function expectSentAgain(stack: Stack, address: string): Promise<void> {
  await expect.poll(() => mailTo(stack, address).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
  await untilSendsSettled(stack, address);
  const mail = mailTo(stack, address);
  expect(mail).toHaveLength(2);
  expect(mail[0]!.acceptLink).not.toBe(mail[1]!.acceptLink);
  const invitations = await invitationsOf(stack, address);
  expect(invitations).toHaveLength(1);
  expect(invitations[0]).toMatchObject({ status: 'pending', token_generation: 1 });
}

/** Exactly one invitation and one email to this address, and it stays that way. */
export async function expectSentOnce(stack: Stack, address: string): Promise<void> {
  await stack.mail.waitFor(sentTo(address));
  await untilSendsSettled(stack, address);
  await expectStaysTrue(async () => mailTo(stack, address).length === 1 && (await invitationsOf(stack, address)).length === 1);
}

// ---------------------------------------------------------------------------------------------------------------
// The real client libraries, in the tools venv (script/bootstrap installs script/python-tools.txt there).

const ROOT = path.resolve(import.meta.dirname, '../..');
const PYTHON = path.join(ROOT, '.tools/venv/bin/python');

/** The versions script/python-tools.txt pins, by distribution name. */
export const pinnedVersions: Record<string, string> = Object.fromEntries(
  readFileSync(path.join(ROOT, 'script/python-tools.txt'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Za-z0-9._-]+)==(\S+)/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!.toLowerCase(), m[2]!]),
);

/**
 * Runs one scenario of a client script under test/compat/clients with its input as JSON; the script prints one JSON
 * object (what the client library returned or raised, and the library versions it ran with).
 */
export function runClient(script: string, input: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [path.join(ROOT, 'test/compat/clients', script), JSON.stringify(input)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
      else {
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`${script} printed no JSON:\n${stdout}\n${stderr}`));
        }
      }
    });
  });
}
