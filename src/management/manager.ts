import type { Middleware } from 'koa';
import type { Db } from '../db/connect';
import { findRankAndTopRank } from '../db/memberships';
import { type ApiKeyState, keyActor } from '../http/auth';
import { type Actor, isManager } from './access';
import { forbidden } from './problems';
import { UsherError } from '../lib/errors';

/** A request by a manager's key: `managerRank` is the rank of the role its user holds. */
export interface ManagerState extends ApiKeyState {
  managerRank: number;
}

/** After requireApiKey: the key's user must hold a role of the tenant's highest rank (the owner role by default). */
export function requireManager(db: Db): Middleware<ManagerState> {
  return async (ctx, next) => {
    const { tenantId, userId, scopes } = ctx.state.principal;
    if (!scopes.includes('management')) throw new UsherError('missing-scope', 'this API key lacks the scope management', { scope: 'management' });
    const standing = await findRankAndTopRank(db, tenantId, userId);
    if (!isManager(standing)) {
      throw forbidden("managing the tenant takes a key whose user holds the tenant's highest-ranked role (owner)");
    }
    ctx.state.managerRank = standing.rank;
    await next();
  };
}

export const managerActor = (state: ManagerState): Actor => ({ actor: keyActor(state), rank: state.managerRank });
