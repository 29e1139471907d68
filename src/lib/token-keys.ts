import { hmacSha256 } from './crypto';

/**
 * The keys that derive invitation link tokens. The first key derives new links; every key still derives the links it
 * made, so rotating (put a new key first, keep the old one after it) leaves every open link and its reminders working.
 */
export interface TokenKey {
  id: string;
  secret: string;
}

export interface TokenKeyRing {
  signing: TokenKey;
  keys: readonly TokenKey[];
}

/** Links made before key ids existed were derived by the one TOKEN_SECRET of then: it keeps this id. */
export const LEGACY_KEY_ID = 'default';

const KEY_ID = /^[A-Za-z0-9._-]{1,40}$/;

/**
 * `TOKEN_SECRET` is either one secret (key id "default") or a ring `id:secret,id:secret,…` whose first key signs.
 * Throws an Error whose message names what is wrong, never the secret.
 */
export function parseTokenKeys(value: string): TokenKeyRing {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  const ring = parts.length === 1 && !parts[0]!.includes(':')
    ? [{ id: LEGACY_KEY_ID, secret: parts[0]! }]
    : parts.map((part) => {
        const colon = part.indexOf(':');
        if (colon <= 0) throw new Error('a key ring is written id:secret,id:secret (the first key signs)');
        return { id: part.slice(0, colon), secret: part.slice(colon + 1) };
      });
  if (ring.length === 0) throw new Error('no key given');
  const seen = new Set<string>();
  for (const key of ring) {
    if (!KEY_ID.test(key.id)) throw new Error(`key id "${key.id.slice(0, 40)}" may only use letters, digits, ".", "_" and "-"`);
    if (seen.has(key.id)) throw new Error(`key id "${key.id}" is given twice`);
    seen.add(key.id);
  }
  return { signing: ring[0]!, keys: ring };
}

export function tokenKeyRing(secret: string): TokenKeyRing {
  return parseTokenKeys(secret);
}

export function findTokenKey(ring: TokenKeyRing, keyId: string | null): TokenKey | undefined {
  const id = keyId ?? LEGACY_KEY_ID;
  return ring.keys.find((k) => k.id === id);
}

/** Names a key's secret without revealing it: processes compare these to know they share their keys. */
export function keyFingerprint(key: TokenKey): string {
  return hmacSha256(key.secret, 'usher-token-key-fingerprint').slice(0, 22);
}
