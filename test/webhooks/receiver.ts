import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';

/** What a receiver got: the raw body, the headers, and the payload as the spec's own library verified it. */
export interface Received {
  n: number;
  headers: Record<string, string>;
  body: string;
  payload: any;
  /** The secrets whose signature this request carried (checked with standardwebhooks' Webhook.verify). */
  verifiedWith: string[];
  /** How this receiver answered; 'hung' until the request was cut. */
  answered: number | 'hung';
}

/** How to answer the n-th request (1-based): a status, a status with headers, or 'hang' (never answer). */
export type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  url: string;
  /** Every request so far, verified or not. */
  received: Received[];
  /** Requests whose signature did not verify with every secret the receiver holds: must stay empty. */
  unverified: { n: number; secret: string; error: string }[];
  /** The endpoint's secrets: every request must carry a valid signature for each. */
  secrets: string[];
  answer: (n: number, request: Received) => Answer;
  /** Waits until at least `count` requests match. */
  until(match: (r: Received) => boolean, count?: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on loopback. Every request is verified with the `standardwebhooks` package (the spec's own
 * library, not Usher's code) against every secret the receiver holds, so a rotation's two signatures are each checked.
 */
export async function startReceiver(answer: Receiver['answer'] = () => 200): Promise<Receiver> {
  const hung: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    received: [],
    unverified: [],
    secrets: [],
    answer,
    async until(match, count = 1, timeoutMs = 30_000) {
      await expect.poll(() => receiver.received.filter(match).length, { timeout: timeoutMs, interval: 50 }).toBeGreaterThanOrEqual(count);
      return receiver.received.filter(match);
    },
    async close() {
      for (const response of hung) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = http.createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      const n = receiver.received.length + 1;
      const entry: Received = { n, headers, body, payload: undefined, verifiedWith: [], answered: 'hung' };
      for (const secret of receiver.secrets) {
        try {
          entry.payload = new Webhook(secret).verify(body, headers);
          entry.verifiedWith.push(secret);
        } catch (err) {
          receiver.unverified.push({ n, secret, error: (err as Error).message });
        }
      }
      receiver.received.push(entry);
      const reply = receiver.answer(n, entry);
      if (reply === 'hang') {
        hung.push(response);
        return;
      }
      const { status, headers: extra, body: text } = typeof reply === 'number' ? { status: reply, headers: {}, body: undefined } : reply;
      entry.answered = status;
      response.writeHead(status, { 'content-type': 'text/plain', ...extra });
      response.end(text ?? `answer ${n}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
