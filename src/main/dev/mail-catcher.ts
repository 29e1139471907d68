import { appendFile, readFile } from 'node:fs/promises';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Outbox, OutboxMessage } from '../../http/outbox';

export interface CaughtMessage extends OutboxMessage {
  from: string;
}

export interface MailCatcher extends Outbox {
  url: string;
  port: number;
  messages(): CaughtMessage[];
  /** Resolves with the first message (now or later) that matches. */
  waitFor(match: (m: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  stop(): Promise<void>;
}

// Usher's own page (/invite/<token>), or a product page the tenant chose, with the token as a query parameter.
const acceptLinkPattern = /https?:\/\/[^\s"'<>]+(?:\/invite\/[A-Za-z0-9_-]{43}|[?&]token=[A-Za-z0-9_-]{43})/;

/**
 * A real SMTP server on loopback that keeps what it receives: the dev outbox, and the tests' mailbox. With `file`,
 * messages are appended as JSON lines and reloaded at the next start.
 */
export async function startMailCatcher(options: { port?: number; file?: string; rejectRecipient?: (address: string) => boolean } = {}): Promise<MailCatcher> {
  const caught: CaughtMessage[] = options.file ? await load(options.file) : [];
  const waiters = new Set<{ match: (m: CaughtMessage) => boolean; resolve: (m: CaughtMessage) => void }>();

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipient?.(address.address)) {
        const err = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          const text = parsed.text ?? '';
          const html = typeof parsed.html === 'string' ? parsed.html : '';
          const message: CaughtMessage = {
            id: (caught.at(-1)?.id ?? 0) + 1,
            messageId: parsed.messageId ?? null,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            html,
            text,
            acceptLink: acceptLinkPattern.exec(text)?.[0] ?? acceptLinkPattern.exec(html)?.[0] ?? null,
            receivedAt: new Date().toISOString(),
          };
          caught.push(message);
          if (options.file) await appendFile(options.file, `${JSON.stringify(message)}\n`);
          for (const waiter of waiters) {
            if (waiter.match(message)) {
              waiters.delete(waiter);
              waiter.resolve(message);
            }
          }
          callback();
        })
        .catch(callback);
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
  });

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages: () => [...caught],
    waitFor(match, timeoutMs = 15_000) {
      const found = caught.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: CaughtMessage) => { clearTimeout(timer); resolve(m); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching email within ${timeoutMs} ms; received: ${JSON.stringify(caught.map((m) => ({ to: m.to, subject: m.subject })))}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function load(file: string): Promise<CaughtMessage[]> {
  try {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as CaughtMessage);
  } catch {
    return [];
  }
}
