import type { AcceptPolicy } from '../db/database';
import { canonicalEmail } from '../lib/email-address';

/** The product's signed-in account, as its back end names it when accepting on the invitee's behalf. */
export interface AcceptingAccount {
  email: string;
  externalId?: string;
}

export type AccountVerdict = { ok: true } | { ok: false; message: string };

const domainOf = (email: string): string => canonicalEmail(email).split('@').at(-1) ?? '';

/**
 * Who may accept under the tenant's policy. `link`: whoever holds the link. `email`: only an account with the invited
 * address. `domain`: only an account at the invited address's domain. Without a named account only `link` accepts.
 */
export function judgeAccount(policy: AcceptPolicy, invitedEmail: string, account: AcceptingAccount | undefined): AccountVerdict {
  if (policy === 'link') return { ok: true };
  if (!account) return { ok: false, message: `this invitation is accepted by signing in: the product accepts it for the ${policy === 'email' ? 'invited account' : "invited domain's accounts"}` };
  if (policy === 'email' && canonicalEmail(account.email) !== canonicalEmail(invitedEmail)) {
    return { ok: false, message: 'this invitation is for another email address' };
  }
  if (policy === 'domain' && domainOf(account.email) !== domainOf(invitedEmail)) {
    return { ok: false, message: "this invitation is for accounts of another domain" };
  }
  return { ok: true };
}
