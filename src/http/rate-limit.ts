import { sha256 } from '../lib/crypto';

/**
 * A token bucket per caller, in this process's memory: `perMinute` requests a minute, bursts up to that many. Each API
 * replica limits on its own, so N replicas allow N times the figure; that bounds abuse without a shared store.
 */
export interface RateLimiter {
  /** Takes one request's token for `key`; when none is left, says how many seconds until one is. */
  take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number };
}

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  if (perMinute <= 0) return { take: () => ({ ok: true }) };
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return {
    take(key) {
      const t = now();
      const bucket = buckets.get(key) ?? { tokens: perMinute, at: t };
      bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * refillPerMs);
      bucket.at = t;
      if (buckets.size > 100_000) buckets.clear(); // a flood of distinct keys must not grow memory without bound
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000)) };
    },
  };
}

/** The bucket key of a presented credential: its hash, so the limiter never holds a secret. */
export const credentialKey = (credential: string): string => sha256(credential);
