import { type ApiKeyGrant, type ApiKeyRow, DEFAULT_SCOPES, findApiKey, insertApiKey, lockApiKey, markApiKeyRevoked } from '../../db/api-keys';
import { findMembershipRank } from '../../db/memberships';
import { recordAudit } from '../../db/audit';
import type { Db } from '../../db/connect';
import { findUserById } from '../../db/users';
import { UsherError } from '../../lib/errors';
import { lockTenant } from '../access';
import { invalidField } from '../problems';

export interface IssuedApiKey extends ApiKeyRow {
  secret: string;
}

/**
 * A new key for a user of the tenant. The secret is returned here and never again: only its SHA-256 is stored.
 * Call inside a transaction when other rows change with it.
 */
export async function issueApiKey(db: Db, input: IssueApiKeyInput): Promise<IssuedApiKey> {
  const user = await findUserById(db, input.tenantId, input.userId);
  if (!user) throw invalidField('userId', 'no such user in this tenant');
  const userRank = await findMembershipRank(db, input.tenantId, user.id);
  if (userRank === undefined) throw invalidField('userId', 'this user is not a member: a key acts for a member');
  const kind = input.kind ?? 'member';
  if (kind === 'member' && input.maxRank !== undefined && input.maxRank !== null) throw invalidField('maxRank', 'only server keys have a ceiling; a member key grants up to its user\'s own rank');
  // A key never grants more than whoever made it could, nor more than its own user holds.
  const limit = Math.min(input.makerRank ?? userRank, userRank);
  if (input.maxRank !== undefined && input.maxRank !== null && input.maxRank > limit) throw invalidField('maxRank', `may be at most ${limit}, the rank its maker and its user hold`);
  const grant: ApiKeyGrant = { kind, scopes: input.scopes ?? DEFAULT_SCOPES, maxRank: kind === 'server' ? (input.maxRank ?? limit) : null };
  const key = await insertApiKey(db, { tenantId: input.tenantId, userId: user.id, name: input.name, ...grant });
  await recordAudit(db, {
    tenantId: input.tenantId,
    invitationId: null,
    actor: input.actor,
    action: 'api-key.created',
    data: { apiKeyId: key.id, userId: user.id, name: input.name, kind, scopes: grant.scopes, maxRank: grant.maxRank },
  });
  return { ...key, user_email: user.email };
}

export interface IssueApiKeyInput extends ApiKeyGrant {
  tenantId: string;
  userId: string;
  name: string;
  actor: string;
  /** The rank of whoever asks for the key (a manager); undefined for the operator. */
  makerRank?: number;
}

/** A tenant's first key, and the operator's recovery key: its owner's back end, with every scope, up to the owner's rank. */
export const OWNER_KEY_GRANT: ApiKeyGrant = { kind: 'server', scopes: ['invitations:read', 'invitations:write', 'management'] };

/** issueApiKey in its own transaction. */
export async function createApiKeyFor(db: Db, input: IssueApiKeyInput): Promise<IssuedApiKey> {
  return db.transaction().execute(async (tx) => {
    await lockTenant(tx, input.tenantId);
    return issueApiKey(tx, input);
  });
}

/**
 * Revokes a key: from the next request on, it gets 401. Revoking a revoked key changes nothing. `tenantId` undefined
 * (the operator's CLI) finds the key in any tenant.
 */
export async function revokeApiKey(db: Db, input: { tenantId?: string; id: string; actor: string }): Promise<ApiKeyRow> {
  return db.transaction().execute(async (tx) => {
    const key = await lockApiKey(tx, { id: input.id, tenantId: input.tenantId });
    if (!key) throw new UsherError('not-found', 'no such API key');
    if (!key.revoked_at) {
      await markApiKeyRevoked(tx, key.id);
      await recordAudit(tx, { tenantId: key.tenant_id, invitationId: null, actor: input.actor, action: 'api-key.revoked', data: { apiKeyId: key.id } });
    }
    const revoked = await findApiKey(tx, key.id);
    if (!revoked) throw new UsherError('not-found', 'no such API key');
    return revoked;
  });
}
