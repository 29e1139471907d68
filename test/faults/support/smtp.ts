import type { Socket } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A loopback SMTP server whose behaviour the fault suite switches while Usher sends to it:
 *   accept    250 to everything (optionally slow at DATA, so many sends are in flight at once)
 *   tempfail  421 on connect ("service not available"), the classic greylisting / overloaded answer
 *   hang      accepts the TCP connection and never says a word: no greeting, no timeout of its own
 * and per recipient: a 550 at RCPT TO, or a 550 after the whole message (at the end of DATA).
 */
export type SmtpMode = 'accept' | 'tempfail' | 'hang';

export interface ReceivedMessage {
  messageId: string;
  to: string[];
  subject: string;
  acceptLink: string | null;
  /** Parsed from Usher's Message-ID `<invitationId.sendKey@usher.invalid>`; null for any other sender. */
  invitationId: string | null;
  sendKey: string | null;
  receivedAt: number;
}

export interface FaultSmtpOptions {
  /** A 550 at RCPT TO for these recipients. */
  rejectAtRcpt?: (address: string) => boolean;
  /** A 550 after the message was transferred (end of DATA) for these recipients; `sendKey` from Usher's Message-ID. */
  rejectAtData?: (address: string, sendKey: string | null) => boolean;
  /** Wait this long before the 250 at the end of DATA. */
  dataDelayMs?: number;
}

export interface FaultSmtp {
  url: string;
  port: number;
  mode(): SmtpMode;
  setMode(mode: SmtpMode): void;
  messages(): ReceivedMessage[];
  /** What the server answered, by kind: connections refused with 421, held in silence, recipients and messages refused. */
  counts(): { connections: number; tempfailed: number; hung: number; rejectedRcpt: number; rejectedData: number; delivered: number };
  /** The connections held in silence: how long each the client has closed stayed open, and how many are open still. */
  silentConnections(): { closedAfterMs: number[]; open: number };
  stop(): Promise<void>;
}

const acceptLinkPattern = /https?:\/\/[^\s"'<>]+(?:\/invite\/[A-Za-z0-9_-]{43}|[?&]token=[A-Za-z0-9_-]{43})/;
const usherMessageId = /^<([0-9a-f-]{36})\.([^@]+)@usher\.invalid>$/;

export async function startFaultSmtp(options: FaultSmtpOptions = {}): Promise<FaultSmtp> {
  let mode: SmtpMode = 'accept';
  const received: ReceivedMessage[] = [];
  const counts = { connections: 0, tempfailed: 0, hung: 0, rejectedRcpt: 0, rejectedData: 0, delivered: 0 };
  // The sockets by their client port, so that a connection held in silence can be timed until the client gives up.
  const sockets = new Map<number, { socket: Socket; openedAt: number }>();
  const silent: { openedAt: number; closedAt: number | null }[] = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    // A hung connection must stay silent: the server never times it out on its own.
    socketTimeout: 24 * 60 * 60 * 1000,
    closeTimeout: 500,
    size: 10 * 1024 * 1024,
    onConnect(session, callback) {
      counts.connections++;
      if (mode === 'hang') {
        counts.hung++;
        const connection = sockets.get(session.remotePort);
        const held = { openedAt: connection?.openedAt ?? Date.now(), closedAt: null as number | null };
        silent.push(held);
        connection?.socket.once('close', () => (held.closedAt = Date.now()));
        return; // never calls back: no greeting, ever
      }
      if (mode === 'tempfail') {
        counts.tempfailed++;
        return callback(Object.assign(new Error('Service not available, try again later'), { responseCode: 421 }));
      }
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectAtRcpt?.(address.address)) {
        counts.rejectedRcpt++;
        return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const recipients = session.envelope.rcptTo.map((r) => r.address);
      simpleParser(stream)
        .then(async (parsed) => {
          if (options.dataDelayMs) await new Promise((r) => setTimeout(r, options.dataDelayMs));
          const messageId = parsed.messageId ?? '';
          const id = usherMessageId.exec(messageId);
          if (recipients.some((a) => options.rejectAtData?.(a, id?.[2] ?? null))) {
            counts.rejectedData++;
            return callback(Object.assign(new Error('message refused by content filter'), { responseCode: 550 }));
          }
          const text = parsed.text ?? '';
          const html = typeof parsed.html === 'string' ? parsed.html : '';
          received.push({
            messageId,
            to: recipients,
            subject: parsed.subject ?? '',
            acceptLink: acceptLinkPattern.exec(text)?.[0] ?? acceptLinkPattern.exec(html)?.[0] ?? null,
            invitationId: id?.[1] ?? null,
            sendKey: id?.[2] ?? null,
            receivedAt: Date.now(),
          });
          counts.delivered++;
          callback();
        })
        .catch((err: unknown) => callback(err as Error));
    },
  });
  server.on('error', () => {});
  server.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort;
    if (port === undefined) return;
    sockets.set(port, { socket, openedAt: Date.now() });
    socket.once('close', () => sockets.delete(port));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
  });

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mode: () => mode,
    setMode(next) {
      mode = next;
    },
    messages: () => [...received],
    counts: () => ({ ...counts }),
    silentConnections: () => ({
      closedAfterMs: silent.flatMap((c) => (c.closedAt === null ? [] : [c.closedAt - c.openedAt])),
      open: silent.filter((c) => c.closedAt === null).length,
    }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
