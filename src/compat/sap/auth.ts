import type { Context } from 'koa';
import type { CompatPrincipal } from '../../db/compat-credentials';
import { verifyIdentifierSecret } from '../../db/compat-credentials';
import { unstorableText } from '../../http/body';
import type { InvitationDeps } from '../../invitations/deps';
import { UsherError } from '../../lib/errors';

/**
 * HTTP Basic with the client id and secret; anything else is 401 without saying which part was wrong. A pair holding
 * text PostgreSQL cannot store (U+0000, which RFC 7617 forbids in either part) is no client's: refused unlooked-up.
 */
export async function authenticate(deps: InvitationDeps, ctx: Context): Promise<CompatPrincipal> {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(ctx.get('authorization'));
  if (!match) throw new UsherError('unauthorized', 'send the client id and secret with HTTP Basic authentication');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const principal =
    colon > 0 && !unstorableText(decoded)
      ? await verifyIdentifierSecret(deps.db, 'sap-client', decoded.slice(0, colon), decoded.slice(colon + 1))
      : undefined;
  if (!principal) throw new UsherError('unauthorized', 'the client id or secret is not valid');
  return principal;
}
