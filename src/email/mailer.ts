import nodemailer from 'nodemailer';
import type { RenderedEmail } from './templates';

export interface OutgoingEmail extends RenderedEmail {
  to: string;
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ response: string }>;
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

/** SMTP with a connection pool; the Message-ID is ours, so a retried send is recognisably the same email. */
export function createSmtpMailer(smtpUrl: string, from: string, timeouts: SmtpTimeouts = defaultSmtpTimeouts): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 5,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: Math.min(timeouts.connectionMs, 10_000),
  } as never);
  return {
    async send(email) {
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
    },
    close() {
      transport.close();
    },
  };
}

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
