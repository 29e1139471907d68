import nodemailer from 'nodemailer';
import type { RenderedEmail } from './templates';

export interface OutgoingEmail extends RenderedEmail {
  to: string;
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /**
   * `signal`: the attempt this send belongs to was given up (its activity cancelled: the server timed it out, or the
   * worker is shutting down). A send still waiting for a connection then goes no further, so an abandoned attempt
   * cannot hand its message over behind its retry's back; one already talking to the server finishes or times out.
   */
  send(email: OutgoingEmail, options?: { signal?: AbortSignal }): Promise<{ response: string }>;
  close(): void;
}

/**
 * How long one SMTP conversation may stall at each step. All of them stay well under the send activity's own
 * start-to-close timeout (1 minute, workflows/invitation.ts): an attempt the worker gave up on must have died before
 * its retry starts, or both could deliver.
 */
export interface SmtpTimeouts {
  /** TCP connect, DNS included. */
  connectionMs: number;
  /** From connect to the server's 220 greeting. */
  greetingMs: number;
  /** Silence on an open connection (a server that took the message and never answers). */
  socketMs: number;
}

export const defaultSmtpTimeouts: SmtpTimeouts = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 20_000 };

const MAX_CONNECTIONS = 5;
/**
 * How long a send waits for one of the pool's connections. Inside nodemailer's pool a message would wait without
 * bound (behind every send stalled on a silent server) and could go out after its attempt was given up; here it waits
 * at most this long, then fails as transient without having been handed over. With the default timeouts an attempt
 * stays under 10 + 10 + 10 + 20 = 50 s.
 */
const CONNECTION_WAIT_MS = 10_000;

/** SMTP with a connection pool; the Message-ID is ours, so a retried send is recognisably the same email. */
export function createSmtpMailer(smtpUrl: string, from: string, timeouts: SmtpTimeouts = defaultSmtpTimeouts): Mailer {
  const connections = slots(MAX_CONNECTIONS);
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: MAX_CONNECTIONS,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: Math.min(timeouts.connectionMs, 10_000),
  } as never);
  return {
    async send(email, { signal } = {}) {
      const release = await connections.acquire(CONNECTION_WAIT_MS, signal);
      try {
        signal?.throwIfAborted();
        const info = await transport.sendMail({
          from,
          to: email.to,
          subject: email.subject,
          html: email.html,
          text: email.text,
          messageId: email.messageId,
          headers: email.headers,
        });
        return { response: String(info.response ?? '') };
      } finally {
        release();
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * At most `size` holders at once; a caller waits up to `waitMs` for its turn, then fails with code ECONNWAIT, or until
 * its signal aborts, then fails with the signal's reason.
 */
function slots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    async acquire(waitMs: number, signal?: AbortSignal): Promise<() => void> {
      signal?.throwIfAborted();
      if (free > 0) {
        free--;
        return once(release);
      }
      await new Promise<void>((resolve, reject) => {
        const stopWaiting = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
        };
        const grant = () => {
          stopWaiting();
          resolve();
        };
        const giveUp = (reason: unknown) => {
          waiting.splice(waiting.indexOf(grant), 1);
          stopWaiting();
          reject(reason);
        };
        const timer = setTimeout(
          () => giveUp(Object.assign(new Error(`all ${size} SMTP connections stayed busy for ${waitMs / 1000} s; nothing was sent`), { code: 'ECONNWAIT' })),
          waitMs,
        );
        const abort = () => giveUp(signal!.reason);
        signal?.addEventListener('abort', abort, { once: true });
        waiting.push(grant);
      });
      return once(release);
    },
  };
}

const once = (run: () => void) => {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      run();
    }
  };
};

/** What nodemailer puts on a failed send. */
interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  permanent?: boolean;
  message?: string;
}

export type SendFailure =
  /** A 5xx to the envelope or the message (MAIL FROM, RCPT TO, DATA, after DATA): sending again gets the same answer. */
  | { kind: 'refused'; stage: string; reply: string }
  /** Anything else (4xx, timeouts, a dropped connection, a refused login): worth retrying for a while. */
  | { kind: 'transient'; description: string };

/** Sorts a failed send into final and retryable, as RFC 5321 does (5yz permanent, 4yz transient; 503 is a bad sequence). */
export function classifySendFailure(err: unknown): SendFailure {
  const smtp = (err ?? {}) as SmtpError;
  const code = smtp.responseCode ?? 0;
  const permanent = smtp.permanent ?? (code >= 500 && code !== 503);
  const aboutTheMessage = smtp.code === 'EENVELOPE' || smtp.code === 'EMESSAGE';
  if (permanent && code >= 500 && aboutTheMessage) {
    return { kind: 'refused', stage: smtp.command ?? 'DATA', reply: (smtp.response ?? String(code)).trim() };
  }
  // nodemailer's own verdict before anything was sent: an address no server can take.
  if (smtp.code === 'EENVELOPE' && smtp.command === 'API') return { kind: 'refused', stage: 'RCPT TO', reply: smtp.message ?? 'invalid address' };
  const what = smtp.responseCode ? (smtp.response ?? String(code)).trim() : (smtp.message ?? String(err));
  return { kind: 'transient', description: smtp.code ? `${smtp.code}: ${what}` : what };
}
