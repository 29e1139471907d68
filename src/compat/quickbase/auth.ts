import { type CompatPrincipal, tenantsWithLiveCredential, verifyIdentifierSecret, verifyToken } from '../../db/compat-credentials';
import type { Db } from '../../db/connect';
import { sha256 } from '../../lib/crypto';

/** A user credential as a Quickbase request presents it. */
export type Presented =
  | { kind: 'quickbase-user-token'; token: string }
  | { kind: 'quickbase-ticket'; token: string }
  | { kind: 'quickbase-password'; username: string; password: string };

/** Usernames are stored lower-cased (they are email addresses in Usher's Quickbase tenants). */
const lookupOf = (presented: Presented): string =>
  presented.kind === 'quickbase-password' ? presented.username.toLowerCase() : sha256(presented.token);

/** The credential, if it is live in this tenant. */
export async function verifyIn(db: Db, presented: Presented, tenantId: string, now: Date): Promise<CompatPrincipal | undefined> {
  if (presented.kind === 'quickbase-password') {
    return verifyIdentifierSecret(db, presented.kind, presented.username.toLowerCase(), presented.password, { tenantId, now });
  }
  return verifyToken(db, presented.kind, presented.token, { tenantId, now });
}

/**
 * The tenants where this credential is live. A Quickbase user is global and apps are separate, so a request whose
 * credential is good but belongs to another app is "insufficient permissions", not "bad ticket"; and API_Authenticate
 * on /db/main (no app named) must find the one tenant the username and password belong to.
 */
export async function tenantsAccepting(db: Db, presented: Presented, now: Date, options: { except?: string } = {}): Promise<CompatPrincipal[]> {
  const tenantIds = await tenantsWithLiveCredential(db, { kind: presented.kind, lookup: lookupOf(presented), now, except: options.except, limit: 10 });
  const found: CompatPrincipal[] = [];
  for (const tenant_id of tenantIds) {
    const principal = await verifyIn(db, presented, tenant_id, now);
    if (principal) found.push(principal);
  }
  return found;
}
