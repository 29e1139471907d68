import { recordAudit } from '../src/db/audit';
import { advanceTokenGeneration, lockTokenGeneration } from '../src/db/invitations';
import { insertToken, revokeTokensBefore } from '../src/db/tokens';
import { hashToken, tokenFor } from '../src/invitations/tokens';
import type { ActivityDeps } from './deps';

/** A resend: the new generation's hash is stored, every older link dies, the expiry may move. Idempotent per generation. */
export function rotateTokenActivity({ db, tokenKeys, clock }: ActivityDeps) {
  return async function rotateToken(input: {
    invitationId: string;
    generation: number;
    expiresAt: number | null;
    actor: string;
  }): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const current = await lockTokenGeneration(tx, input.invitationId);
      if (current.token_generation >= input.generation) return;
      await insertToken(tx, {
        invitationId: input.invitationId,
        generation: input.generation,
        keyId: tokenKeys.signing.id,
        tokenHash: hashToken(tokenFor(tokenKeys.signing.secret, input.invitationId, input.generation)),
      });
      await revokeTokensBefore(tx, input.invitationId, input.generation, clock());
      await advanceTokenGeneration(tx, input.invitationId, {
        generation: input.generation,
        expiresAt: input.expiresAt !== null ? new Date(input.expiresAt) : null,
        at: clock(),
      });
      await recordAudit(tx, {
        tenantId: current.tenant_id,
        invitationId: input.invitationId,
        actor: input.actor,
        action: 'invitation.resent',
        data: { generation: input.generation, ...(input.expiresAt !== null ? { expiresAt: new Date(input.expiresAt).toISOString() } : {}) },
      });
    });
  };
}
