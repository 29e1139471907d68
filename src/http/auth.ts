import type { Middleware } from 'koa';
import { type ApiKeyPrincipal, findApiKeyPrincipal } from '../db/api-keys';
import type { Db } from '../db/connect';
import type { ApiKeyScope } from '../db/database';
import { sameSecret } from '../lib/crypto';
import { UsherError } from '../lib/errors';

/** What every request carries (set by the request log). */
export interface RequestState {
  requestId: string;
}

/** A request authenticated by a tenant API key: routers use `Router<ApiKeyState>` and read `ctx.state.principal`. */
export interface ApiKeyState extends RequestState {
  principal: ApiKeyPrincipal;
}

const bearer = (header: string): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];

/** Bearer API keys; the key's tenant scopes everything the request can see. */
export function requireApiKey(db: Db): Middleware<ApiKeyState> {
  return async (ctx, next) => {
    const secret = bearer(ctx.get('authorization'));
    const principal = secret ? await findApiKeyPrincipal(db, secret) : undefined;
    if (!principal) throw new UsherError('unauthorized', secret ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
    ctx.state.principal = principal;
    await next();
  };
}

/** After requireApiKey: the key must carry the scope, else 403 naming it. */
export function requireScope(scope: ApiKeyScope): Middleware<ApiKeyState> {
  return async (ctx, next) => {
    if (!ctx.state.principal.scopes.includes(scope)) {
      throw new UsherError('missing-scope', `this API key lacks the scope ${scope}`, { scope });
    }
    await next();
  };
}

/** Reads need `invitations:read`, anything else `invitations:write`. */
export function requireInvitationScope(): Middleware<ApiKeyState> {
  return async (ctx, next) => {
    const scope: ApiKeyScope = ['GET', 'HEAD'].includes(ctx.method) ? 'invitations:read' : 'invitations:write';
    if (!ctx.state.principal.scopes.includes(scope)) {
      throw new UsherError('missing-scope', `this API key lacks the scope ${scope}`, { scope });
    }
    await next();
  };
}

/** The audit log's name for whoever holds the key. */
export const keyActor = (state: ApiKeyState): string => `api-key:${state.principal.keyId}`;

/**
 * Operator (platform) calls: `Authorization: Bearer <USHER_ADMIN_TOKEN>`, compared in constant time. Without a
 * configured token the surface does not exist: 404.
 */
export function requireOperator(adminToken: string | undefined): Middleware<RequestState> {
  return async (ctx, next) => {
    if (!adminToken) throw new UsherError('not-found', 'the operator API is off: set USHER_ADMIN_TOKEN to open it');
    const token = bearer(ctx.get('authorization'));
    if (!token || !sameSecret(token, adminToken)) {
      throw new UsherError('unauthorized', token ? 'the operator token is not valid' : 'send the operator token as "Authorization: Bearer <USHER_ADMIN_TOKEN>"');
    }
    await next();
  };
}
