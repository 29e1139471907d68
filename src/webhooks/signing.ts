import { createHmac, randomBytes } from 'node:crypto';

/*
 * Standard Webhooks (https://www.standardwebhooks.com): the signed content is `${webhook-id}.${webhook-timestamp}.${body}`,
 * the signature its HMAC-SHA256 in base64 under the secret's bytes (the base64 after `whsec_`), sent as `v1,<sig>`;
 * several signatures are separated by spaces, and a receiver accepts the request when any one of them verifies.
 */

const PREFIX = 'whsec_';

/** A new endpoint secret: 32 random bytes. */
export const newWebhookSecret = (): string => `${PREFIX}${randomBytes(32).toString('base64')}`;

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The three headers of one attempt: every secret given signs (the current one, and a rotated-out one in its grace period). */
export function signatureHeaders(secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => sign(s, id, timestamp, body)).join(' '),
  };
}

/** The secrets that sign at `now`: the current one, plus the previous one until its grace period ends. */
export function signingSecrets(endpoint: { secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null }, now: Date): string[] {
  const previous = endpoint.previous_secret && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now ? [endpoint.previous_secret] : [];
  return [endpoint.secret, ...previous];
}
