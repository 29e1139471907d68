import {
  findInvitationsByIdempotencyKeys,
  findMemberEmails,
  findOpenInvitationsByEmails,
  recordRowResults,
} from '../db/batches';
import type { BatchRowResult, Invitation, Role, Tenant } from '../db/database';
import { forgetNextReminders, insertNewInvitations, markWorkflowsStarted } from '../db/invitations';
import { findMembershipRank } from '../db/memberships';
import { listRoles } from '../db/roles';
import { findTenant } from '../db/tenants';
import {
  type CreateInvitationCommand,
  type NewInvitationRow,
  checkCreate,
  createdAudit,
  firstToken,
  hashCommand,
  newInvitationRow,
  openInvitationExists,
  temporalUnavailable,
  workflowInput,
} from '../invitations/create-invitation';
import type { InvitationDeps } from '../invitations/deps';
import { canonicalEmail } from '../lib/email-address';
import { UsherError } from '../lib/errors';
import { newId } from '../lib/ids';
import { type BatchScope, resultByCode, rowCommand } from './row-command';

/**
 * Rows of a chunk opened and started together: a group's sends are recorded in one transaction, then its workflows
 * start. Four groups at once, so that some groups' starts overlap the others' sends (each waits mostly on the mail
 * server or Temporal): 32 rows in flight. Four instead of two only paid once the worker held its workflow tasks back
 * while a chunk runs (src/temporal/workflow-task-slots.ts): a 10,000-row upload took 103 s with either number before,
 * 99 s with two groups and 78 s with four after (docs/benchmark.md).
 */
const GROUP_SIZE = 8;
const GROUPS_IN_FLIGHT = 4;

interface RowResult {
  rowNumber: number;
  result: BatchRowResult;
  reason: string | null;
  invitationId: string | null;
}

/**
 * A chunk of a bulk upload at once. Its rows get the very checks of a single create (checkCreate), but the reads are
 * one query each for the whole chunk and its new invitations are written in one statement: a 250-row chunk is a
 * handful of statements instead of about a thousand. Then, a group of rows at once, the invitations are opened (their
 * invitees provisioned, their emails sent) and their workflows started, told they are opened; and every row's result
 * is recorded in one statement.
 *
 * A row's idempotency key is its batch and row number, so a chunk retried after a crash finds the invitations it had
 * stored and starts their workflows again (a start finds a running workflow rather than making a second).
 */
export async function processChunkRows(
  deps: InvitationDeps,
  batch: BatchScope,
  rows: { row_number: number; input: Record<string, unknown> }[],
  steps: { open: OpenInvitations; progress: () => void },
): Promise<void> {
  const { db } = deps;
  const commands = rows.map((row) => ({ rowNumber: row.row_number, cmd: rowCommand(batch, row.row_number, row.input) }));
  const valid = commands.flatMap(({ cmd }) => ('invalid' in cmd ? [] : [cmd]));
  if (valid.length > 0 && deps.workflows.health.isDown) throw temporalUnavailable(deps);
  const emails = [...new Set(valid.map((cmd) => canonicalEmail(cmd.email)))];
  const [tenant, roles, inviterRank, stored, members, open] = await Promise.all([
    findTenant(db, batch.tenantId),
    listRoles(db, batch.tenantId),
    findMembershipRank(db, batch.tenantId, batch.inviterUserId),
    findInvitationsByIdempotencyKeys(db, batch.tenantId, valid.flatMap((cmd) => (cmd.idempotencyKey ? [cmd.idempotencyKey] : []))),
    findMemberEmails(db, batch.tenantId, emails),
    findOpenInvitationsByEmails(db, batch.tenantId, emails),
  ]);
  if (!tenant) throw new UsherError('not-found', 'no such tenant');

  const { results, toStart, fresh } = planChunk(commands, { tenant, roles, inviterRank, stored, members, open }, deps.clock());

  const tokens = fresh.map((f) => firstToken(deps.tokenKeys, f.row.id));
  const inserted = await insertNewInvitations(db, {
    invitations: fresh.map((f) => f.row),
    tokens,
    audits: fresh.map((f) => createdAudit(f.cmd, f.row, f.role)),
  }).catch((err: unknown) => {
    // A single create took one of these addresses after the reads: nothing of the chunk is stored, and its retry reads
    // again and finds that row a duplicate. Said without the database's detail, which names the address: this
    // failure is kept in the batch workflow's history.
    if ((err as { code?: string }).code === '23505') throw new Error('an address of this chunk was invited meanwhile; the chunk is retried');
    throw err;
  });
  const byId = new Map(inserted.map((invitation) => [invitation.id, invitation]));
  for (const [i, f] of fresh.entries()) toStart.push({ rowNumber: f.rowNumber, invitation: byId.get(f.row.id)!, role: f.role, keyId: tokens[i]!.keyId });

  // A start that fails leaves its row without a result: the chunk's retry starts it again (or, should the batch give
  // up, the reconciler does, as for any stored invitation whose workflow never started).
  const started: string[] = [];
  let failure: unknown;
  const groups = Array.from({ length: Math.ceil(toStart.length / GROUP_SIZE) }, (_, g) => toStart.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE));
  const openAndStart = async (group: ChunkPlan['toStart']) => {
    // Opened just before their starts, so that their workflows never send what the chunk is sending. Only rows this
    // attempt judged: one an earlier attempt stored opens in its workflow, which checks its inviter again (and finds
    // the email sent, if it was).
    const judged = group.flatMap((row) => (row.keyId !== undefined && row.role ? [{ invitation: row.invitation, role: row.role, keyId: row.keyId }] : []));
    const openedIds = new Set((await steps.open(judged, tenant)).flatMap((opened, i) => (opened ? [judged[i]!.invitation.id] : [])));
    await forgetNextReminders(db, group.flatMap((row) => (row.keyId === undefined ? [row.invitation.id] : [])));
    await Promise.all(
      group.map(async ({ rowNumber, invitation, role }) => {
        try {
          await deps.workflows.start(workflowInput(invitation, tenant, { opened: openedIds.has(invitation.id) }), { role: role?.slug });
          started.push(invitation.id);
          results.push({ rowNumber, result: 'created', reason: null, invitationId: invitation.id });
          steps.progress();
        } catch (err) {
          failure ??= err;
        }
      }),
    );
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(GROUPS_IN_FLIGHT, groups.length) }, async () => {
      while (next < groups.length && failure === undefined) await openAndStart(groups[next++]!);
    }),
  );
  // Marked before the results: a chunk retried in between finds these rows started and reports them created.
  await markWorkflowsStarted(db, started);
  await recordRowResults(db, batch.id, results, deps.clock());
  const created = results.filter((r) => r.result === 'created').length;
  if (created > 0) deps.log.info('bulk rows created', { batchId: batch.id, tenantId: tenant.id, created, rows: rows.length });
  if (failure !== undefined) throw failure;
}

/**
 * Runs the opening steps (provision the invitees, send the invitations) of stored invitations whose inviter the chunk
 * has just checked: the worker's own, from activities/. Answers, in order, which are opened; the others open in their
 * workflows. `keyId`: the ring key of the invitation's first token.
 */
export type OpenInvitations = (rows: { invitation: Invitation; role: Role; keyId: string | null }[], tenant: Tenant) => Promise<boolean[]>;

/** What a chunk's reads found: the same facts a single create reads, for every row at once. */
interface ChunkReads {
  tenant: Tenant;
  roles: Role[];
  inviterRank: number | undefined;
  /** Invitations stored by an earlier attempt of this chunk, found by their rows' idempotency keys. */
  stored: Invitation[];
  /** Canonical addresses that belong to members. */
  members: Set<string>;
  /** The open invitation of each canonical address that has one. */
  open: Map<string, Invitation>;
}

interface ChunkPlan {
  /** Rows already settled: invalid, refused, or created with a workflow that started. */
  results: RowResult[];
  /**
   * Stored invitations whose workflow may not have started. `keyId` (its first token's ring key) only for a row this
   * attempt judged and stored, which the chunk opens.
   */
  toStart: { rowNumber: number; invitation: Invitation; role: Role | undefined; keyId?: string | null }[];
  /** New invitations to store. */
  fresh: { rowNumber: number; row: NewInvitationRow; cmd: CreateInvitationCommand; role: Role }[];
}

/** Each row of a chunk judged in file order, as one create after another would be: no reads, no writes. */
function planChunk(commands: { rowNumber: number; cmd: CreateInvitationCommand | { invalid: string } }[], reads: ChunkReads, now: Date): ChunkPlan {
  const { tenant, roles } = reads;
  const plan: ChunkPlan = { results: [], toStart: [], fresh: [] };
  const storedByKey = new Map(reads.stored.map((invitation) => [invitation.idempotency_key, invitation]));
  // An address invited by an earlier row of this chunk is open from the later rows' point of view.
  const openByEmail = new Map<string, Pick<Invitation, 'id'>>(reads.open);
  for (const { rowNumber, cmd } of commands) {
    if ('invalid' in cmd) {
      plan.results.push({ rowNumber, result: 'invalid', reason: cmd.invalid, invitationId: null });
      continue;
    }
    const earlier = cmd.idempotencyKey ? storedByKey.get(cmd.idempotencyKey) : undefined;
    const emailCanonical = canonicalEmail(cmd.email);
    if (earlier) {
      // Its workflow's first step marks the row as started; until then it may not have been.
      if (earlier.workflow_started_at === null) plan.toStart.push({ rowNumber, invitation: earlier, role: roles.find((r) => r.id === earlier.role_id) });
      else plan.results.push({ rowNumber, result: 'created', reason: null, invitationId: earlier.id });
      openByEmail.set(emailCanonical, earlier);
      continue;
    }
    try {
      const wanted = cmd.role ?? { slug: tenant.default_role_slug };
      const role = roles.find((r) => ('id' in wanted ? r.id === wanted.id : r.slug === wanted.slug));
      const granted = checkCreate(cmd, { tenant, role, inviterRank: reads.inviterRank, member: reads.members.has(emailCanonical) });
      const already = openByEmail.get(emailCanonical);
      if (already) throw openInvitationExists(already);
      const row = newInvitationRow(cmd, { id: newId(now.getTime()), tenant, role: granted, emailCanonical, requestHash: hashCommand(cmd), now });
      plan.fresh.push({ rowNumber, row, cmd, role: granted });
      openByEmail.set(emailCanonical, { id: row.id });
    } catch (err) {
      const result = err instanceof UsherError ? resultByCode[err.code] : undefined;
      if (!result || !(err instanceof UsherError)) throw err;
      plan.results.push({ rowNumber, result, reason: err.message, invitationId: typeof err.extra.invitationId === 'string' ? err.extra.invitationId : null });
    }
  }
  return plan;
}
