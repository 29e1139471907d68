import type { AuditInput } from '../db/audit';
import type { Invitation, NewInvitation, Role, Tenant } from '../db/database';
import {
  deleteInvitation,
  findInvitationByIdempotencyKey,
  findOpenInvitationByEmail,
  insertNewInvitations,
} from '../db/invitations';
import { findMembershipRank, isMember } from '../db/memberships';
import { findRoleById, findRoleBySlug } from '../db/roles';
import { findTenant } from '../db/tenants';
import { tokenKeyOf } from '../db/tokens';
import { sha256 } from '../lib/crypto';
import { UsherError } from '../lib/errors';
import { daysToMs, reminderTimes } from '../../workflows/schedule';
import { workflowIdFor, type InvitationWorkflowInput } from '../../workflows/messages';
import { WorkflowStartError } from '../temporal/invitation-client';
import type { InvitationDeps } from './deps';
import { canonicalEmail } from '../lib/email-address';
import { newId } from '../lib/ids';
import type { TokenKeyRing } from '../lib/token-keys';
import { judgeInviter, redirectAllowed } from './policy';
import { hashToken, invitationLink, linkToken, tokenFor } from './tokens';

export interface CreateInvitationCommand {
  tenantId: string;
  email: string;
  /** Absent: the tenant's default role. */
  role?: { slug: string } | { id: string };
  inviterUserId: string;
  /** A display name for the inviter in the email, instead of the inviter user's own (SAP's inviterName). */
  inviterName?: string | null;
  headerText?: string | null;
  footerText?: string | null;
  /** A public page of the product the email link points to, with `token` added (SAP's sourceUrl). */
  linkBaseUrl?: string | null;
  batchId?: string | null;
  message?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  redirectUrl?: string | null;
  language?: string | null;
  expiresInDays?: number | null;
  sendEmail: boolean;
  /** Which front door the invitation came through: `api`, or a compat adapter's name. */
  origin: string;
  actor: string;
  idempotencyKey?: string | null;
  /** The caller's ceiling (a server key's): no role above this rank, whoever the inviter is. */
  maxRank?: number | null;
}

export interface CreatedInvitation {
  invitation: Invitation;
  /** Only for link-only invitations (`sendEmail: false`), where the caller delivers the link. */
  acceptUrl: string | null;
  /** True when an Idempotency-Key matched an earlier identical request. */
  replayed: boolean;
}

/**
 * The one create-invitation command. Checks everything that can be checked without side effects, then writes the
 * row, its first token hash and an audit event in one statement, then starts the workflow. If the server refused the
 * start (or was never reached) the row is deleted again, so a refused request leaves nothing behind. If the start's
 * outcome is unknown (a deadline passed mid-call) the row stays and the answer is 503: the reconciler (reconcile.ts)
 * finishes the start, as it does after a crash between the two, because the workflow id is derived from the row. The workflow's first activity marks
 * the row as started, which keeps that write off the request path.
 */
export async function createInvitation(deps: InvitationDeps, cmd: CreateInvitationCommand): Promise<CreatedInvitation> {
  const { db } = deps;
  const requestHash = hashCommand(cmd);
  if (cmd.idempotencyKey) {
    const earlier = await findInvitationByIdempotencyKey(db, cmd.tenantId, cmd.idempotencyKey);
    if (earlier) return replay(deps, cmd, earlier, requestHash);
  }

  // Temporal known to be down: say so now, before anything is written.
  if (deps.workflows.health.isDown) throw temporalUnavailable(deps);

  // Every read the checks need, at once; the checks then run in a fixed order so the same request always gets the
  // same refusal.
  const emailCanonical = canonicalEmail(cmd.email);
  const [tenant, givenRole, inviterRank, member, open] = await Promise.all([
    findTenant(db, cmd.tenantId),
    cmd.role ? findRole(db, cmd.tenantId, cmd.role) : undefined,
    findMembershipRank(db, cmd.tenantId, cmd.inviterUserId),
    isMember(db, cmd.tenantId, emailCanonical),
    findOpenInvitationByEmail(db, cmd.tenantId, emailCanonical),
  ]);
  if (!tenant) throw new UsherError('not-found', 'no such tenant');
  const found = givenRole ?? (cmd.role ? undefined : await findRole(db, tenant.id, { slug: tenant.default_role_slug }));
  const role = checkCreate(cmd, { tenant, role: found, inviterRank, member });
  if (open) {
    // A retry that read its key before the first request committed finds the first request's invitation here.
    if (cmd.idempotencyKey && open.idempotency_key === cmd.idempotencyKey) return replay(deps, cmd, open, requestHash);
    throw openInvitationExists(open);
  }

  const now = deps.clock();
  const id = newId(now.getTime());
  const row = newInvitationRow(cmd, { id, tenant, role, emailCanonical, requestHash, now });
  let invitation: Invitation;
  try {
    [invitation] = (await insertNewInvitations(db, { invitations: [row], tokens: [firstToken(deps.tokenKeys, id)], audits: [createdAudit(cmd, row, role)] })) as [Invitation];
  } catch (err) {
    // Two requests raced past the reads above; the unique indexes decide, and the loser answers as if it had read.
    const constraint = (err as { code?: string; constraint?: string }).code === '23505' ? (err as { constraint?: string }).constraint : undefined;
    // Either index can fire first for a concurrent retry with the same key, so the key is looked up on any conflict.
    if (constraint && cmd.idempotencyKey) {
      const earlier = await findInvitationByIdempotencyKey(db, cmd.tenantId, cmd.idempotencyKey);
      if (earlier) return replay(deps, cmd, earlier, requestHash);
    }
    if (constraint === 'invitations_one_pending') {
      const existing = await findOpenInvitationByEmail(db, tenant.id, emailCanonical);
      if (existing) throw openInvitationExists(existing);
    }
    throw err;
  }

  try {
    await deps.workflows.start(workflowInput(invitation, tenant), { role: role.slug });
  } catch (err) {
    if (err instanceof WorkflowStartError && !err.refused) throw unconfirmedStart(deps, 'invitation', { invitationId: id }, err);
    await deleteInvitation(db, id);
    deps.log.error('workflow start refused; invitation rolled back', { invitationId: id, error: String(err) });
    throw temporalUnavailable(deps, err);
  }
  deps.log.info('invitation created', { invitationId: id, tenantId: tenant.id, origin: cmd.origin, role: role.slug });
  return { invitation, acceptUrl: await linkFor(deps, invitation), replayed: false };
}

/** The answer when the workflow service is known to be down or refused a start: nothing was stored. */
export function temporalUnavailable(deps: InvitationDeps, cause?: unknown): UsherError {
  return new UsherError('temporal-unavailable', undefined, { retryAfter: deps.workflows.health.retryAfterSeconds }, cause);
}

/**
 * The answer to a start whose outcome is unknown (a deadline passed mid-call): the workflow may have started, so
 * deleting what was stored could orphan it. It stays; the reconciler finishes the start (it is idempotent) once the
 * grace period has passed, and a retry with the same Idempotency-Key answers what was stored. Bulk's batches too.
 */
export function unconfirmedStart(deps: InvitationDeps, what: 'invitation' | 'batch', ids: Record<string, string>, err: unknown): UsherError {
  deps.log.error(`${what} workflow start unconfirmed; the reconciler will finish it`, { ...ids, error: String(err) });
  return new UsherError(
    'unavailable',
    `the ${what} was stored but its workflow did not confirm in time; it will start shortly. Repeat the request with the same Idempotency-Key to get it`,
    { retryAfter: deps.workflows.health.retryAfterSeconds, ...ids },
    err,
  );
}

/** What the checks of a create read: the tenant, the role asked for (or the tenant's default), the inviter's rank. */
export interface CreateReads {
  tenant: Tenant;
  role: Role | undefined;
  inviterRank: number | undefined;
  /** The address already belongs to a member of the tenant. */
  member: boolean;
}

/**
 * The checks of a create that need no further reads, in a fixed order so the same request always gets the same
 * refusal; the refusal is thrown, the role to grant returned. An open invitation for the address is the caller's to
 * judge (it may be a replay).
 */
export function checkCreate(cmd: CreateInvitationCommand, reads: CreateReads): Role {
  const { tenant, role } = reads;
  if (!role) {
    const wanted = cmd.role ?? { slug: tenant.default_role_slug };
    throw new UsherError('invalid-request', `unknown role: ${'id' in wanted ? wanted.id : wanted.slug}`, { field: 'role' });
  }
  const verdict = judgeInviter(tenant, reads.inviterRank, role.rank);
  if (!verdict.ok) throw new UsherError(verdict.reason, verdict.message);
  if (cmd.maxRank !== undefined && cmd.maxRank !== null && role.rank > cmd.maxRank) {
    throw new UsherError('role-too-high', `this API key may not grant ${role.slug}: its ceiling is rank ${cmd.maxRank}`);
  }
  for (const [field, url] of [['redirectUrl', cmd.redirectUrl], ['linkBaseUrl', cmd.linkBaseUrl]] as const) {
    if (url && !redirectAllowed(url, tenant.allowed_redirect_hosts)) {
      throw new UsherError('redirect-not-allowed', `${field} host is not allowed for this tenant: ${safeHost(url)}`, { field });
    }
  }
  if (reads.member) throw new UsherError('already-member', `${cmd.email} is already a member of this tenant`);
  return role;
}

export type NewInvitationRow = NewInvitation & Pick<Invitation, 'id' | 'tenant_id' | 'expires_at'>;

/** The row a create stores for a command that passed its checks. */
export function newInvitationRow(
  cmd: CreateInvitationCommand,
  at: { id: string; tenant: Tenant; role: Role; emailCanonical: string; requestHash: string; now: Date },
): NewInvitationRow {
  const { id, tenant, now } = at;
  const expiresAt = new Date(now.getTime() + daysToMs(cmd.expiresInDays ?? tenant.default_ttl_days));
  return {
    id,
    tenant_id: tenant.id,
    email: cmd.email.trim(),
    email_canonical: at.emailCanonical,
    invitee_user_id: null,
    inviter_user_id: cmd.inviterUserId,
    role_id: at.role.id,
    status: 'pending',
    failure_reason: null,
    message: cmd.message ?? null,
    first_name: cmd.firstName ?? null,
    last_name: cmd.lastName ?? null,
    redirect_url: cmd.redirectUrl ?? null,
    language: cmd.language ?? 'en',
    send_email: cmd.sendEmail,
    origin: cmd.origin,
    expires_at: expiresAt,
    next_reminder_at: cmd.sendEmail ? firstReminderAt(now, expiresAt, tenant) : null,
    next_reminder_known: true,
    workflow_id: workflowIdFor(id),
    workflow_started_at: null,
    idempotency_key: cmd.idempotencyKey ?? null,
    request_hash: at.requestHash,
    created_at: now,
    updated_at: now,
    decided_at: null,
    header_text: cmd.headerText ?? null,
    footer_text: cmd.footerText ?? null,
    link_base_url: cmd.linkBaseUrl ?? null,
    inviter_name: cmd.inviterName ?? null,
    batch_id: cmd.batchId ?? null,
  };
}

/** The hash of an invitation's first link, made with the current signing key. */
export function firstToken(keys: TokenKeyRing, invitationId: string) {
  const key = keys.signing;
  return { invitationId, generation: 0, keyId: key.id, tokenHash: hashToken(tokenFor(key.secret, invitationId, 0)) };
}

export function createdAudit(cmd: CreateInvitationCommand, row: Pick<Invitation, 'id' | 'tenant_id' | 'expires_at'>, role: Role): AuditInput {
  return {
    tenantId: row.tenant_id,
    invitationId: row.id,
    actor: cmd.actor,
    action: 'invitation.created',
    data: { origin: cmd.origin, role: role.slug, sendEmail: cmd.sendEmail, expiresAt: row.expires_at.toISOString() },
  };
}

/** The first reminder of the schedule `workflowInput` gives an invitation of this tenant (workflows/schedule.ts). */
function firstReminderAt(createdAt: Date, expiresAt: Date, tenant: Tenant): Date | null {
  const [first] = reminderTimes(createdAt.getTime(), expiresAt.getTime(), tenant.reminder_days, tenant.default_ttl_days);
  return first === undefined ? null : new Date(first);
}

/** `opened`: a bulk chunk has done its opening steps (workflows/messages.ts). */
export function workflowInput(invitation: Invitation, tenant: Tenant, options: { opened?: boolean } = {}): InvitationWorkflowInput {
  return {
    invitationId: invitation.id,
    tenantId: tenant.id,
    createdAt: invitation.created_at.getTime(),
    expiresAt: invitation.expires_at.getTime(),
    reminderDays: tenant.reminder_days,
    reminderBasisDays: tenant.default_ttl_days,
    sendEmail: invitation.send_email,
    origin: invitation.origin,
    ...(options.opened ? { opened: true } : {}),
    version: 1,
  };
}

function findRole(db: InvitationDeps['db'], tenantId: string, role: { slug: string } | { id: string }) {
  return 'id' in role ? findRoleById(db, tenantId, role.id) : findRoleBySlug(db, tenantId, role.slug);
}

async function replay(deps: InvitationDeps, cmd: CreateInvitationCommand, earlier: Invitation, requestHash: string): Promise<CreatedInvitation> {
  if (earlier.request_hash !== requestHash) {
    throw new UsherError('idempotency-key-reused', 'this Idempotency-Key was already used with a different request', { invitationId: earlier.id });
  }
  // A replay answers with the first answer (a link-only invitation's link included): only to a caller who could have made it.
  if (cmd.maxRank !== undefined && cmd.maxRank !== null) {
    const role = await findRoleById(deps.db, earlier.tenant_id, earlier.role_id);
    if (!role || role.rank > cmd.maxRank) throw new UsherError('role-too-high', `this API key may not grant ${role?.slug ?? 'this role'}`);
  }
  return { invitation: earlier, acceptUrl: await linkFor(deps, earlier), replayed: true };
}

async function linkFor(deps: InvitationDeps, invitation: Invitation): Promise<string | null> {
  if (invitation.send_email || invitation.token_generation !== 0) return null;
  return invitationLink(deps.publicBaseUrl, invitation, linkToken(deps.tokenKeys, await tokenKeyOf(deps.db, invitation.id, 0), invitation.id, 0));
}

export function openInvitationExists(open: Pick<Invitation, 'id'>): UsherError {
  return new UsherError('open-invitation-exists', `an open invitation (${open.id}) already exists for this email`, { invitationId: open.id });
}

export function hashCommand(cmd: CreateInvitationCommand): string {
  // Who asks and with what authority is not part of what is asked.
  const { idempotencyKey: _key, actor: _actor, maxRank: _maxRank, ...rest } = cmd;
  return sha256(JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))));
}

function safeHost(url: string): string {
  return URL.canParse(url) ? new URL(url).host : 'invalid URL';
}

