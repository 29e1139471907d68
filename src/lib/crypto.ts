import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** Hex SHA-256: the stored form of every machine-generated secret (API keys, link tokens, compat tokens). */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export const hmacSha256 = (secret: string, value: string): string => createHmac('sha256', secret).update(value).digest('base64url');

/** A random secret of `bytes` bytes, base64url. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time equality of two strings: both are hashed first, so neither length nor content leaks. */
export function sameSecret(given: string, expected: string | null | undefined): boolean {
  if (typeof expected !== 'string' || expected === '') return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Stored form of a secret. Machine-generated secrets (tokens, environment passwords) have the entropy to make a plain
 * SHA-256 safe; passwords people choose get scrypt, which is slow on purpose.
 */
export function hashSecret(secret: string, strength: 'generated' | 'password'): string {
  if (strength === 'generated') return `sha256$${sha256(secret)}`;
  const salt = randomBytes(16).toString('base64url');
  return `scrypt$${salt}$${scryptSync(secret, salt, 32).toString('base64url')}`;
}

export function verifySecret(secret: string, stored: string | null): boolean {
  if (!stored) return false;
  const [scheme, a, b] = stored.split('$');
  const expected = scheme === 'sha256' ? Buffer.from(a ?? '', 'hex') : Buffer.from(b ?? '', 'base64url');
  const actual = scheme === 'sha256' ? Buffer.from(sha256(secret), 'hex') : scheme === 'scrypt' ? scryptSync(secret, a ?? '', 32) : Buffer.alloc(0);
  return expected.length > 0 && expected.length === actual.length && timingSafeEqual(expected, actual);
}
