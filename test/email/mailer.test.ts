import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpMailer, type Mailer, type OutgoingEmail } from '../../src/email/mailer';
import { type MailCatcher, startMailCatcher } from '../../src/main/dev/mail-catcher';

const email = (to: string): OutgoingEmail => ({ to, subject: 'You are invited', html: '<p>Hello</p>', text: 'Hello', messageId: `<${to}@usher.invalid>` });
const stalls = (to: string[]) => to.some((address) => address.startsWith('stalled-'));

let mail: MailCatcher | undefined;
let mailer: Mailer | undefined;
afterEach(async () => {
  mailer?.close();
  await mail?.stop();
  mail = undefined;
  mailer = undefined;
});

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the SMTP mailer, against a loopback server', () => {
  it('a send still waiting for a connection when its attempt is given up goes no further, and never goes out later', async () => {
    mail = await startMailCatcher({ behaviour: { data: (m) => (stalls(m.to) ? 'stall' : undefined) } });
    mailer = createSmtpMailer(mail.url, 'Usher <invitations@usher.test>', { connectionMs: 5_000, greetingMs: 5_000, socketMs: 3_000 });
    const mailerInUse = mailer;
    // Five sends hold the pool's five connections on a server that takes their data and never answers.
    const stalled = Array.from({ length: 5 }, (_, i) => mailerInUse.send(email(`stalled-${i}@example.com`)).then(() => 'sent', () => 'failed'));
    await until(() => mail!.attempts().length === 5, 10_000);

    const attempt = new AbortController();
    const waiting = mailer.send(email('given-up@example.com'), { signal: attempt.signal });
    const outcome = waiting.then(() => 'sent', (err: Error) => err.message);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const abortedAt = Date.now();
    attempt.abort(new Error('the attempt was given up'));
    // At once, not after the 10 s a send may wait for a connection.
    expect(await outcome).toBe('the attempt was given up');
    expect(Date.now() - abortedAt).toBeLessThan(1_000);

    // The stalled sends time out and free their connections; the next send takes one, the given-up one never does.
    expect(await Promise.all(stalled)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
    await mailer.send(email('after@example.com'));
    expect(mail.messages().map((m) => m.to)).toEqual([['after@example.com']]);
    expect(mail.attempts().filter((a) => a.message.to.includes('given-up@example.com'))).toEqual([]);
  }, 30_000);

  it('a send whose attempt was given up before it began sends nothing', async () => {
    mail = await startMailCatcher();
    mailer = createSmtpMailer(mail.url, 'Usher <invitations@usher.test>');
    const attempt = new AbortController();
    attempt.abort(new Error('the attempt was given up'));
    await expect(mailer.send(email('too-late@example.com'), { signal: attempt.signal })).rejects.toThrow('the attempt was given up');
    await mailer.send(email('on-time@example.com'));
    expect(mail.attempts().map((a) => a.message.to)).toEqual([['on-time@example.com']]);
    expect(mail.connections()).toBe(1);
  });
});
