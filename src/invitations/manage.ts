import type { Invitation } from '../db/database';
import { findInvitation, lockResendCounters, type ResendCounters, saveResendCounters } from '../db/invitations';
import { decisionNotTaken } from '../temporal/invitation-client';
import { judgeResend } from './resend-limits';
import { findRoleById, findRoleBySlug } from '../db/roles';
import { checkInviter } from './policy';
import { UsherError } from '../lib/errors';
import { daysToMs } from '../../workflows/schedule';
import type { InvitationDeps } from './deps';
import { tokenKeyOf } from '../db/tokens';
import { invitationLink, linkToken } from './tokens';

async function pendingInvitation(deps: InvitationDeps, tenantId: string, id: string): Promise<Invitation> {
  const invitation = await findInvitation(deps.db, tenantId, id);
  if (!invitation) throw new UsherError('not-found', 'no such invitation');
  if (invitation.status !== 'pending') throw new UsherError('invitation-not-pending', `the invitation is ${invitation.status}`);
  return invitation;
}

export async function revokeInvitation(deps: InvitationDeps, input: { tenantId: string; id: string; actor: string; reason?: string }): Promise<void> {
  await pendingInvitation(deps, input.tenantId, input.id);
  await deps.workflows.revoke(input.id, { actor: input.actor, reason: input.reason });
  deps.log.info('invitation revoked', { invitationId: input.id, tenantId: input.tenantId });
}

/**
 * A new link (the old one dies) and a new email, same invitation. For a link-only invitation the new link is
 * returned instead, derived here from the generation the workflow reports, so it never enters history.
 */
export async function resendInvitation(
  deps: InvitationDeps,
  input: { tenantId: string; id: string; actor: string; expiresInDays?: number; maxRank?: number },
): Promise<{ acceptUrl: string | null }> {
  const invitation = await pendingInvitation(deps, input.tenantId, input.id);
  // A fresh link to an invitation is as good as making it: only for a caller who could have.
  await requireWithinCeiling(deps, invitation.tenant_id, invitation.role_id, input.maxRank);
  const reservation = await reserveResend(deps, invitation.id);
  const expiresAt = input.expiresInDays !== undefined ? deps.clock().getTime() + daysToMs(input.expiresInDays) : undefined;
  let state: Awaited<ReturnType<InvitationDeps['workflows']['resend']>>;
  try {
    state = await deps.workflows.resend(input.id, { actor: input.actor, expiresAt });
  } catch (err) {
    // A resend that certainly did not happen (Temporal down, the workflow refused it) does not count against the limits.
    if (decisionNotTaken(err)) await releaseResend(deps, invitation.id, reservation);
    throw err;
  }
  deps.log.info('invitation resent', { invitationId: input.id, tenantId: input.tenantId, generation: state.tokenGeneration });
  return {
    acceptUrl: invitation.send_email
      ? null
      : invitationLink(deps.publicBaseUrl, invitation, linkToken(deps.tokenKeys, await tokenKeyOf(deps.db, input.id, state.tokenGeneration), input.id, state.tokenGeneration)),
  };
}


/**
 * Edits a pending invitation in place through its workflow (role, expiry, message); the audit log keeps what it was.
 * A new role is checked against the inviter's rank now, and again at accept.
 */
export async function editInvitation(
  deps: InvitationDeps,
  input: { tenantId: string; id: string; actor: string; role?: string; expiresInDays?: number; message?: string | null; maxRank?: number },
): Promise<void> {
  const invitation = await pendingInvitation(deps, input.tenantId, input.id);
  await requireWithinCeiling(deps, invitation.tenant_id, invitation.role_id, input.maxRank);
  let roleId: string | undefined;
  if (input.role !== undefined) {
    const role = await findRoleBySlug(deps.db, input.tenantId, input.role);
    if (!role) throw new UsherError('invalid-request', `unknown role: ${input.role}`, { field: 'role' });
    if (input.maxRank !== undefined && role.rank > input.maxRank) {
      throw new UsherError('role-too-high', `this API key may not grant ${role.slug}: its ceiling is rank ${input.maxRank}`);
    }
    const verdict = await checkInviter(deps.db, { tenantId: input.tenantId, inviterUserId: invitation.inviter_user_id, roleRank: role.rank });
    if (!verdict.ok) throw new UsherError(verdict.reason, verdict.message);
    roleId = role.id;
  }
  const expiresAt = input.expiresInDays !== undefined ? deps.clock().getTime() + daysToMs(input.expiresInDays) : undefined;
  await deps.workflows.edit(input.id, { actor: input.actor, roleId, expiresAt, message: input.message });
  deps.log.info('invitation edited', { invitationId: input.id, tenantId: input.tenantId });
}

/** The caller's ceiling covers the invitation's current role, or the caller may not touch it. */
async function requireWithinCeiling(deps: InvitationDeps, tenantId: string, roleId: string, maxRank: number | undefined): Promise<void> {
  if (maxRank === undefined) return;
  const role = await findRoleById(deps.db, tenantId, roleId);
  if (!role || role.rank > maxRank) throw new UsherError('role-too-high', `this API key may not act on an invitation to ${role?.slug ?? 'this role'}`);
}

/** Counts the resend against the invitation's limits, or refuses with 429 and when to retry. */
interface ResendReservation {
  before: ResendCounters;
  after: ResendCounters;
}

async function reserveResend(deps: InvitationDeps, id: string): Promise<ResendReservation> {
  return deps.db.transaction().execute(async (tx) => {
    const counters = await lockResendCounters(tx, id);
    if (!counters) throw new UsherError('not-found', 'no such invitation');
    const verdict = judgeResend(counters, deps.resendLimits, deps.clock());
    if (!verdict.ok) {
      throw new UsherError('rate-limited', verdict.message, verdict.retryAfterSeconds !== undefined ? { retryAfter: verdict.retryAfterSeconds } : {});
    }
    await saveResendCounters(tx, id, verdict.next);
    return { before: counters, after: verdict.next };
  });
}

/** Gives a reservation back, unless another resend has reserved since (then its counters stand). */
async function releaseResend(deps: InvitationDeps, id: string, reservation: ResendReservation): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    const counters = await lockResendCounters(tx, id);
    if (counters && counters.resends === reservation.after.resends && counters.last_resent_at?.getTime() === reservation.after.last_resent_at?.getTime()) {
      await saveResendCounters(tx, id, reservation.before);
    }
  });
}
