import { hmacSha256, sha256 } from '../lib/crypto';
import { findTokenKey, type TokenKeyRing } from '../lib/token-keys';

/**
 * The accept-link token for one generation of an invitation. Derived (HMAC) rather than random so a retried email
 * activity renders the very same link, and reminders can carry it again; only its SHA-256 is ever stored, and
 * nothing but an invitation id and a generation number enters workflow history.
 */
export function tokenFor(secret: string, invitationId: string, generation: number): string {
  return hmacSha256(secret, `invitation-token:${invitationId}:${generation}`);
}

/**
 * The token of a generation derived with the ring key that made it (`keyId`; null for links from before the ring).
 * A key the ring no longer holds cannot re-derive its links: that is a deployment error, said plainly.
 */
export function linkToken(ring: TokenKeyRing, keyId: string | null, invitationId: string, generation: number): string {
  const key = findTokenKey(ring, keyId);
  if (!key) throw new Error(`token key "${keyId ?? 'default'}" is not in TOKEN_SECRET: keep retired keys in the ring while their links are open`);
  return tokenFor(key.secret, invitationId, generation);
}

/** Only this is stored of a link token. */
export const hashToken = sha256;

export function acceptUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}/invite/${token}`;
}

/** The link an invitee gets: Usher's own accept page, or the product's page (`link_base_url`) with `token` added. */
export function invitationLink(publicBaseUrl: string, invitation: { link_base_url: string | null }, token: string): string {
  if (!invitation.link_base_url) return acceptUrl(publicBaseUrl, token);
  const url = new URL(invitation.link_base_url);
  url.searchParams.set('token', token);
  return url.toString();
}

/** Looks like a token we minted: 43 base64url characters. Anything else is refused before a database read. */
export const tokenPattern = /^[A-Za-z0-9_-]{43}$/;
