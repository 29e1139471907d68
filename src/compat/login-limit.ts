import type { Admission } from '../http/admission';
import { createRateLimiter, credentialKey } from '../http/rate-limit';

/** What the seed adapters are configured with beyond the invitation commands. */
export interface CompatOptions {
  /** Password checks per minute, per client address and per account; 0 = unlimited. */
  loginsPerMinute: number;
  /** The API's cap on requests at once, shared with the core API; a seed refuses in its own shape. */
  admission: Admission;
}

export type LoginVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Throttles the seed calls that check a password people chose (Quickbase's username + password, Akana's login), before
 * the password is hashed: per client address, so one address cannot guess at many accounts, and per account, so many
 * addresses cannot guess at one. Both must allow the attempt; a good password does not skip the count.
 */
export interface LoginLimiter {
  /** `ip` as Koa reads it (X-Forwarded-For only when TRUST_PROXY says so); `account` canonical, as it is looked up. */
  take(ip: string, account: string): LoginVerdict;
}

export function createLoginLimiter(perMinute: number): LoginLimiter {
  const byAddress = createRateLimiter(perMinute);
  const byAccount = createRateLimiter(perMinute);
  return {
    take(ip, account) {
      // A refused address does not spend the account's allowance: one address cannot lock an account out faster.
      const address = byAddress.take(`ip:${ip}`);
      if (!address.ok) return address;
      return byAccount.take(credentialKey(`account:${account}`));
    },
  };
}
