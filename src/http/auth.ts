import type { Context, Next } from 'koa';
import type { Db } from '../db/connect';
import { findApiKeyPrincipal } from '../db/api-keys';
import { UsherError } from '../lib/errors';

/** Bearer API keys; the key's tenant scopes everything the request can see. */
export function requireApiKey(db: Db) {
  return async (ctx: Context, next: Next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    const principal = match ? await findApiKeyPrincipal(db, match[1]!) : undefined;
    if (!principal) throw new UsherError('unauthorized', match ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
    ctx.state.principal = principal;
    await next();
  };
}
