import type { Context } from 'koa';
import { canonicalEmail, emailAddress } from '../../lib/email-address';
import { parseJson, readBodyWithin } from '../body';
import { AkanaError } from './errors';

/** The media types Akana names for this call, in the order `Accept: *\/*` picks them. */
export const AKANA_MEDIA_TYPES = [
  'application/json',
  'application/vnd.soa.v71+json',
  'application/vnd.soa.v72+json',
  'application/vnd.soa.v80+json',
  'application/vnd.soa.v81+json',
] as const;

/** Addresses one request may carry; more is a 400 (Akana documents no limit; this keeps one request short). */
export const AKANA_MAX_ADDRESSES = 100;
const MAX_MESSAGE = 5000;
const MAX_BODY_BYTES = 256 * 1024;

const SOA_VERSION = /^application\/vnd\.soa\.v[^+]*\+json$/;

/** The response type the client asked for; an API version Akana does not have is its documented 404. */
export function negotiate(ctx: Context): string {
  const chosen = ctx.accepts(...AKANA_MEDIA_TYPES);
  if (chosen) return chosen;
  if (/vnd\.soa\.v/i.test(ctx.get('accept'))) throw new AkanaError(404, `Unknown API version in Accept: ${ctx.get('accept')}`);
  throw new AkanaError(406, `Not acceptable; accept one of ${AKANA_MEDIA_TYPES.join(', ')}`);
}

export async function readBody(ctx: Context): Promise<unknown> {
  const type = ctx.request.type.toLowerCase();
  if (type !== '' && !(AKANA_MEDIA_TYPES as readonly string[]).includes(type)) {
    if (SOA_VERSION.test(type)) throw new AkanaError(404, `Unknown API version in Content-Type: ${type}`);
    throw new AkanaError(415, `Unsupported Content-Type ${type}; send one of ${AKANA_MEDIA_TYPES.join(', ')}`);
  }
  const raw = await readBodyWithin(ctx, MAX_BODY_BYTES, (message) => new AkanaError(400, message));
  return parseJson(raw, () => new AkanaError(400, 'The request body is not valid JSON; send a UserInviteRequest'));
}

/**
 * A UserInviteRequest: `EmailAddresses` (an array; an element, or a plain string, may list several addresses
 * separated by commas) and an optional `Message`. Every address is checked before any invitation is made.
 */
export function parseRequest(body: unknown): { addresses: string[]; message: string | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AkanaError(400, 'The body must be a UserInviteRequest object');
  const { EmailAddresses: list, Message: message } = body as Record<string, unknown>;
  const items = typeof list === 'string' ? [list] : list;
  if (!Array.isArray(items) || items.some((v) => typeof v !== 'string')) {
    throw new AkanaError(400, 'EmailAddresses is required: an array of email addresses');
  }
  if (message !== undefined && message !== null && typeof message !== 'string') throw new AkanaError(400, 'Message must be a string');
  if (typeof message === 'string' && message.length > MAX_MESSAGE) throw new AkanaError(400, `Message may be at most ${MAX_MESSAGE} characters`);

  const addresses: string[] = [];
  const seen = new Set<string>();
  const invalid: string[] = [];
  for (const item of items as string[]) {
    for (const piece of item.split(',')) {
      const address = piece.trim();
      if (address === '') continue;
      if (!emailAddress.safeParse(address).success) {
        invalid.push(address);
        continue;
      }
      const canonical = canonicalEmail(address);
      if (seen.has(canonical)) continue;
      seen.add(canonical);
      addresses.push(address);
    }
  }
  if (invalid.length > 0) {
    throw new AkanaError(400, `Not valid email address(es), nobody was invited: ${invalid.join(', ')}`, { InvalidEmailAddresses: invalid });
  }
  if (addresses.length === 0) throw new AkanaError(400, 'EmailAddresses must list at least one email address');
  if (addresses.length > AKANA_MAX_ADDRESSES) throw new AkanaError(400, `At most ${AKANA_MAX_ADDRESSES} email addresses per request`);
  return { addresses, message: typeof message === 'string' && message.trim() !== '' ? message : null };
}
