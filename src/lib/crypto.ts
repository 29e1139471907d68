import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';

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
 * Stored form of a machine-generated secret (tokens, environment passwords, client secrets): they have the entropy to
 * make a plain SHA-256 safe. Passwords people choose go through hashPassword instead.
 */
export function hashSecret(secret: string, _strength: 'generated'): string {
  return `sha256$${sha256(secret)}`;
}

/** OWASP's recommended scrypt cost (Password Storage Cheat Sheet): N=2^17, r=8, p=1, about 128 MiB and a few hundred ms. */
export const SCRYPT_COST = { N: 2 ** 17, r: 8, p: 1 } as const;
/** Node's scrypt defaults, which hashes written as `scrypt$salt$hash` used. */
const LEGACY_SCRYPT_COST = { N: 2 ** 14, r: 8, p: 1 } as const;
const SCRYPT_KEY_BYTES = 32;
/** Stored parameters are bounded, so a tampered row cannot make one login take gigabytes or minutes. */
const MAX_SCRYPT = { N: 2 ** 20, r: 32, p: 16 } as const;

type ScryptCost = { N: number; r: number; p: number };

/**
 * At most this many hashes at once; the rest wait their turn. Each takes a core and 128 MiB for a few hundred ms, and
 * libuv's four threads would otherwise all be hashing: a burst of logins could starve the database and the rest of
 * the process of CPU (and of the thread pool) while it lasts.
 */
const MAX_CONCURRENT_HASHES = Math.max(1, availableParallelism() - 1);
let hashing = 0;
const waiting: Array<() => void> = [];

/** scrypt on libuv's thread pool; never scryptSync, which would stall every request for the whole computation. */
async function scryptAsync(secret: string, salt: string, cost: ScryptCost): Promise<Buffer> {
  // Node refuses a computation needing more than maxmem; scrypt needs about 128·N·r bytes, so allow twice that.
  const options = { ...cost, maxmem: 256 * cost.N * cost.r };
  if (hashing >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  hashing++;
  try {
    return await new Promise((resolve, reject) => {
      scrypt(secret, salt, SCRYPT_KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
    });
  } finally {
    hashing--;
    waiting.shift()?.();
  }
}

/** A password's stored form, `scrypt$N$r$p$salt$hash`: the cost travels with the hash, so raising it later is possible. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16).toString('base64url');
  const { N, r, p } = SCRYPT_COST;
  return `scrypt$${N}$${r}$${p}$${salt}$${(await scryptAsync(password, salt, SCRYPT_COST)).toString('base64url')}`;
}

interface ParsedHash {
  scheme: 'sha256' | 'scrypt';
  cost?: ScryptCost;
  salt: string;
  expected: Buffer;
}

function parseStored(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts[0] === 'sha256' && parts.length === 2) return { scheme: 'sha256', salt: '', expected: Buffer.from(parts[1]!, 'hex') };
  if (parts[0] !== 'scrypt') return undefined;
  if (parts.length === 3) return { scheme: 'scrypt', cost: LEGACY_SCRYPT_COST, salt: parts[1]!, expected: Buffer.from(parts[2]!, 'base64url') };
  if (parts.length !== 6) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_SCRYPT.N || !Number.isInteger(r) || r < 1 || r > MAX_SCRYPT.r || !Number.isInteger(p) || p < 1 || p > MAX_SCRYPT.p) return undefined;
  return { scheme: 'scrypt', cost: { N, r, p }, salt: parts[4]!, expected: Buffer.from(parts[5]!, 'base64url') };
}

/** Whether `secret` is the one `stored` was made from; either scheme, any recorded scrypt cost, in constant time. */
export async function verifySecret(secret: string, stored: string | null): Promise<boolean> {
  const parsed = stored ? parseStored(stored) : undefined;
  if (!parsed || parsed.expected.length === 0) return false;
  const actual = parsed.scheme === 'sha256' ? Buffer.from(sha256(secret), 'hex') : await scryptAsync(secret, parsed.salt, parsed.cost!);
  return parsed.expected.length === actual.length && timingSafeEqual(parsed.expected, actual);
}

/** A password hash made at another cost than today's (e.g. Node's defaults, `scrypt$salt$hash`): re-hash it on the next good login. */
export function needsRehash(stored: string): boolean {
  const parsed = parseStored(stored);
  if (parsed?.scheme !== 'scrypt') return false;
  const { N, r, p } = parsed.cost!;
  return N !== SCRYPT_COST.N || r !== SCRYPT_COST.r || p !== SCRYPT_COST.p;
}
