import { appendFile, readFile } from 'node:fs/promises';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Outbox, OutboxMessage } from '../../http/outbox';

export interface CaughtMessage extends OutboxMessage {
  from: string;
}

/**
 * How the server answers, for tests of what a real mail server does to Usher; the default takes everything. A code
 * refuses with it: 5xx for good (550 no such mailbox, 554 rejected), 4xx for now (421, 451). Change it while running
 * with `behave`.
 */
export interface SmtpBehaviour {
  /** The reply to RCPT TO for this address; undefined accepts it. */
  rcpt?: (address: string) => number | undefined;
  /** The reply after the message data; 'stall' takes the data and never answers; undefined accepts it (250). */
  data?: (message: CaughtMessage) => number | 'stall' | undefined;
  /** Accept connections and never send the greeting. */
  silent?: boolean;
  /** Wait this long before answering the data (a slow server): the attempt is recorded when the data arrives. */
  replyDelayMs?: number;
}

export interface DeliveryAttempt {
  message: CaughtMessage;
  /** The reply given after the data: 250, a refusal code, or 'stall'. */
  reply: number | 'stall';
}

export interface MailCatcher extends Outbox {
  url: string;
  port: number;
  /** The messages the server accepted (250). */
  messages(): CaughtMessage[];
  /** Every message whose data arrived, accepted or not, in order. */
  attempts(): DeliveryAttempt[];
  /** Connections opened so far. */
  connections(): number;
  /** Replaces how the server answers from now on. */
  behave(behaviour: SmtpBehaviour): void;
  /** Resolves with the first message (now or later) that matches. */
  waitFor(match: (m: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  stop(): Promise<void>;
}

// Usher's own page (/invite/<token>), or a product page the tenant chose, with the token as a query parameter.
export const acceptLinkPattern = /https?:\/\/[^\s"'<>]+(?:\/invite\/[A-Za-z0-9_-]{43}|[?&]token=[A-Za-z0-9_-]{43})/;

/** A plain SMTP server for loopback: no TLS, no login, no reverse lookups, and a quick close. */
export const loopbackSmtpOptions = {
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  disableReverseLookup: true,
  closeTimeout: 1000,
};

/**
 * A real SMTP server on loopback that keeps what it receives: the dev outbox, and the tests' mailbox. With `file`,
 * messages are appended as JSON lines and reloaded at the next start.
 */
export async function startMailCatcher(
  options: { port?: number; file?: string; rejectRecipient?: (address: string) => boolean; behaviour?: SmtpBehaviour } = {},
): Promise<MailCatcher> {
  const caught: CaughtMessage[] = options.file ? await load(options.file) : [];
  const attempts: DeliveryAttempt[] = [];
  const waiters = new Set<{ match: (m: CaughtMessage) => boolean; resolve: (m: CaughtMessage) => void }>();
  let behaviour: SmtpBehaviour = options.behaviour ?? {};
  let connections = 0;
  // Callbacks held back by 'stall' and 'silent', by session: dropped when the client hangs up, released (with a 421)
  // when the server stops.
  const held = new Map<string, (err?: Error) => void>();
  const refusal = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
  const hold = (session: { id: string }, callback: (err?: Error) => void) => {
    held.set(session.id, callback);
  };

  const server = new SMTPServer({
    ...loopbackSmtpOptions,
    onConnect(session, callback) {
      connections++;
      if (behaviour.silent) return hold(session, callback);
      callback();
    },
    onClose(session) {
      held.delete(session.id);
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipient?.(address.address)) return callback(refusal(550, 'mailbox unavailable'));
      const code = behaviour.rcpt?.(address.address);
      if (code !== undefined) return callback(refusal(code, code >= 500 ? 'mailbox unavailable' : 'try again later'));
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
          const reply = behaviour.data?.(message) ?? 250;
          attempts.push({ message, reply });
          if (reply === 'stall') return hold(session, callback);
          if (behaviour.replyDelayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.replyDelayMs));
          if (reply !== 250) return callback(refusal(reply, reply >= 500 ? 'message rejected' : 'try again later'));
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
    attempts: () => [...attempts],
    connections: () => connections,
    behave(next) {
      behaviour = next;
      // A silent server must be reached anew: open (pooled) connections are dropped.
      if (next.silent) for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close();
    },
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const callback of held.values()) callback(refusal(421, 'shutting down'));
        held.clear();
      }),
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
