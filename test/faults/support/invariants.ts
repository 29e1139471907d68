import { WorkflowNotFoundError } from '@temporalio/client';
import type { Invitation } from '../../../src/db/database';
import { canonicalEmail } from '../../../src/lib/email-address';
import { stateQuery } from '../../../workflows/messages';
import { InvitationStatusKey } from '../../../workflows/search-attributes';
import type { Ledger } from './load';
import type { ReceivedMessage } from './smtp';
import { eventually, type FaultStack } from './stack';

/**
 * The promises Usher makes, checked over every invitation of a scenario once its fault is over. Each check returns
 * the invitations it found broken (a few examples, with why); an empty list is "held".
 */
export const INVARIANTS = {
  created: '201 → row + workflow',
  agree: 'row = search attribute = state query',
  oneEmail: 'one email per invitation and link generation',
  grantOnce: 'no role granted twice',
  noOrphanPending: 'nothing pending without a running workflow',
  allOrNothing: 'unanswered create all-or-nothing',
} as const;

export interface Check {
  name: string;
  /** Failures, each one line; none = held. */
  run(): Promise<string[]> | string[];
}

export interface InvariantResult {
  name: string;
  held: boolean;
  failures: string[];
}

export interface ScenarioReport {
  scenario: string;
  invitations: number;
  emails: number;
  /** Copies of a message delivered more than once (same Message-ID): allowed, counted. */
  duplicateCopies: number;
  results: InvariantResult[];
  notes: string[];
  seconds: number;
}

interface WorkflowView {
  exists: boolean;
  status?: string;
  searchStatus?: string;
  queryStatus?: string;
  queryError?: string;
}

type Row = Pick<Invitation, 'id' | 'email' | 'email_canonical' | 'status' | 'send_email' | 'token_generation' | 'workflow_id' | 'workflow_started_at' | 'reminders_sent' | 'created_at'>;

async function rowsOf(stack: FaultStack): Promise<Row[]> {
  return stack.db
    .selectFrom('invitations')
    .select(['id', 'email', 'email_canonical', 'status', 'send_email', 'token_generation', 'workflow_id', 'workflow_started_at', 'reminders_sent', 'created_at'])
    .where('tenant_id', '=', stack.tenant.id)
    .execute();
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);

async function viewOf(stack: FaultStack, workflowId: string): Promise<WorkflowView> {
  const handle = stack.client.workflow.getHandle(workflowId);
  let description: Awaited<ReturnType<typeof handle.describe>>;
  try {
    description = await withTimeout(handle.describe(), 15_000);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { exists: false };
    return { exists: false, queryError: `describe: ${(err as Error).message}` };
  }
  const view: WorkflowView = {
    exists: true,
    status: description.status.name,
    searchStatus: description.typedSearchAttributes.get(InvitationStatusKey),
  };
  try {
    view.queryStatus = (await withTimeout(handle.query(stateQuery), 15_000)).status;
  } catch (err) {
    view.queryError = (err as Error).message.slice(0, 120);
  }
  return view;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
    }),
  );
  return out;
}

async function workflowIdsOnQueue(stack: FaultStack): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of stack.client.workflow.list({ query: `TaskQueue="${stack.taskQueue}"` })) ids.push(wf.workflowId);
  return ids;
}

const short = (id: string) => id.slice(-8);
const examples = (failures: string[], max = 5) => (failures.length > max ? [...failures.slice(0, max), `… and ${failures.length - max} more`] : failures);

/**
 * Waits until the scenario has come to rest: every invitation's workflow started and every pending invitation that
 * sends email has its current email recorded as sent. Returns what is still moving if it does not get there.
 */
export async function settle(stack: FaultStack, timeoutMs: number): Promise<string | null> {
  let unsettled = '';
  const ok = await eventually(
    timeoutMs,
    async () => {
      const rows = await rowsOf(stack);
      const sent = new Set(
        (await stack.db.selectFrom('email_messages').select(['invitation_id', 'send_key']).where('status', '=', 'sent').where('invitation_id', 'in', rows.length ? rows.map((r) => r.id) : ['00000000-0000-0000-0000-000000000000']).execute()).map(
          (m) => `${m.invitation_id}/${m.send_key}`,
        ),
      );
      const unstarted = rows.filter((r) => !r.workflow_started_at);
      const unsent = rows.filter((r) => r.status === 'pending' && r.send_email && !sent.has(`${r.id}/invitation-${r.token_generation}`));
      unsettled = `${unstarted.length} without a started workflow, ${unsent.length} pending without their email sent`;
      return unstarted.length === 0 && unsent.length === 0;
    },
    1000,
  );
  return ok ? null : unsettled;
}

/** Runs every invariant (and the scenario's own checks) and returns the report; nothing here asserts. */
export async function checkInvariants(stack: FaultStack, ledger: Ledger, options: { extra?: Check[]; notes?: string[]; startedAt: number }): Promise<ScenarioReport> {
  const rows = await rowsOf(stack);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const views = new Map<string, WorkflowView>();
  await mapLimit(rows, 8, async (r) => views.set(r.id, await viewOf(stack, r.workflow_id)));
  const messages = stack.smtp.messages();
  const results: InvariantResult[] = [];
  const add = (name: string, failures: string[]) => results.push({ name, held: failures.length === 0, failures: examples(failures) });

  // 1. Each 201 has its row and its workflow.
  add(
    INVARIANTS.created,
    ledger.created().flatMap((a) => {
      const row = a.id ? byId.get(a.id) : undefined;
      if (!row) return [`${short(a.id ?? '?')}: answered 201, no row`];
      if (!views.get(row.id)?.exists) return [`${short(row.id)}: answered 201, no workflow ${views.get(row.id)?.queryError ?? ''}`.trim()];
      return [];
    }),
  );

  // 2. Row status, InvitationStatus and the state query agree (a decision settling right now gets a moment).
  const disagreeing = async (ids: string[]) => {
    const out: string[] = [];
    for (const id of ids) {
      const row = byId.get(id)!;
      const v = views.get(id)!;
      if (!v.exists) continue; // reported by 1 or 6
      if (v.searchStatus !== row.status || v.queryStatus !== row.status) {
        out.push(`${short(id)}: row ${row.status}, search attribute ${v.searchStatus ?? '-'}, query ${v.queryStatus ?? `- (${v.queryError ?? 'no answer'})`}, workflow ${v.status}${await inFlight(stack, row.workflow_id)}`);
      }
    }
    return out;
  };
  let disagreements = await disagreeing(rows.map((r) => r.id));
  if (disagreements.length > 0) {
    await eventually(30_000, async () => {
      const fresh = new Map((await rowsOf(stack)).map((r) => [r.id, r]));
      const suspects = rows.filter((r) => disagreements.some((d) => d.startsWith(short(r.id))));
      for (const r of suspects) {
        byId.set(r.id, fresh.get(r.id) ?? r);
        views.set(r.id, await viewOf(stack, r.workflow_id));
      }
      disagreements = await disagreeing(suspects.map((r) => r.id));
      return disagreements.length === 0;
    }, 2_000);
  }
  add(INVARIANTS.agree, disagreements);

  // 3. One email per invitation and link generation; a resend of the same send is the identical message.
  let duplicateCopies = 0;
  const emailFailures: string[] = [];
  const bySend = new Map<string, ReceivedMessage[]>();
  for (const m of messages) {
    if (!m.invitationId || !m.sendKey) {
      emailFailures.push(`a message without Usher's Message-ID: ${m.messageId} to ${m.to.join(',')}`);
      continue;
    }
    const row = byId.get(m.invitationId);
    if (!row) emailFailures.push(`${short(m.invitationId)}: an email (${m.sendKey}) for an invitation that does not exist`);
    const key = `${m.invitationId}/${m.sendKey}`;
    bySend.set(key, [...(bySend.get(key) ?? []), m]);
  }
  for (const [key, copies] of bySend) {
    duplicateCopies += copies.length - 1;
    const links = new Set(copies.map((c) => c.acceptLink));
    const recipients = new Set(copies.map((c) => c.to.join(',')));
    if (links.size > 1 || recipients.size > 1) emailFailures.push(`${short(key.split('/')[0]!)}: ${copies.length} copies of ${key.split('/')[1]} differ (${links.size} links)`);
  }
  for (const row of rows) {
    if (!row.send_email) continue;
    const current = bySend.get(`${row.id}/invitation-${row.token_generation}`) ?? [];
    // Delivered: the invitation's status says its email went out (or a decision that needs the link was made).
    if (['pending', 'accepted', 'declined', 'expired'].includes(row.status) && current.length === 0) {
      emailFailures.push(`${short(row.id)}: ${row.status} but its invitation email (generation ${row.token_generation}) never arrived`);
    }
    if (current.length > 0 && current[0]!.to.some((t) => canonicalEmail(t) !== row.email_canonical)) {
      emailFailures.push(`${short(row.id)}: its email went to ${current[0]!.to.join(',')}`);
    }
  }
  add(INVARIANTS.oneEmail, emailFailures);

  // 4. No role granted twice: one grant at most per invitation, and a membership exactly for the accepted ones.
  const ids = rows.length ? rows.map((r) => r.id) : ['00000000-0000-0000-0000-000000000000'];
  const grants = await stack.db.selectFrom('audit_events').select(['invitation_id']).where('action', '=', 'role.granted').where('invitation_id', 'in', ids).execute();
  const memberships = await stack.db.selectFrom('memberships').select(['invitation_id', 'user_id']).where('tenant_id', '=', stack.tenant.id).where('invitation_id', 'in', ids).execute();
  const count = (list: { invitation_id: string | null }[]) => {
    const m = new Map<string, number>();
    for (const x of list) if (x.invitation_id) m.set(x.invitation_id, (m.get(x.invitation_id) ?? 0) + 1);
    return m;
  };
  const grantCount = count(grants);
  const memberCount = count(memberships);
  const grantFailures: string[] = [];
  for (const r of rows) {
    const g = grantCount.get(r.id) ?? 0;
    const m = memberCount.get(r.id) ?? 0;
    if (g > 1) grantFailures.push(`${short(r.id)}: role granted ${g} times (${await grantHistory(stack, r.workflow_id)})`);
    else if (r.status === 'accepted' && (g !== 1 || m !== 1)) grantFailures.push(`${short(r.id)}: accepted with ${g} grants and ${m} memberships`);
    else if (r.status !== 'accepted' && (g > 0 || m > 0)) grantFailures.push(`${short(r.id)}: ${r.status} but ${g} grants, ${m} memberships`);
  }
  add(INVARIANTS.grantOnce, grantFailures);

  // 5. Nothing pending without a running workflow.
  add(
    INVARIANTS.noOrphanPending,
    rows.flatMap((r) => {
      const v = views.get(r.id)!;
      if (r.status !== 'pending') return [];
      if (!v.exists) return [`${short(r.id)}: pending, no workflow`];
      if (v.status !== 'RUNNING') return [`${short(r.id)}: pending, workflow ${v.status}`];
      return [];
    }),
  );

  // 6. A create without an answer (none, or a 5xx) is wholly there (row, workflow, email) or wholly absent (none of
  // them); a refused one (4xx) is wholly absent. And no workflow exists without its row.
  const rowsByEmail = new Map<string, Row[]>();
  for (const r of rows) rowsByEmail.set(r.email_canonical, [...(rowsByEmail.get(r.email_canonical) ?? []), r]);
  const mailTo = new Map<string, number>();
  for (const m of messages) for (const t of m.to) mailTo.set(canonicalEmail(t), (mailTo.get(canonicalEmail(t)) ?? 0) + 1);
  const halfFailures: string[] = [];
  const unansweredFound = ledger.unanswered().filter((a) => rowsByEmail.has(canonicalEmail(a.email))).length;
  if (ledger.unanswered().length > 0) {
    options.notes?.push(`${ledger.unanswered().length} creates without a 201-or-4xx answer: ${unansweredFound} ended present, ${ledger.unanswered().length - unansweredFound} absent`);
  }
  for (const a of [...ledger.unanswered(), ...ledger.refused()]) {
    const canonical = canonicalEmail(a.email);
    const found = rowsByEmail.get(canonical) ?? [];
    const answered = a.status === null ? 'no answer' : String(a.status);
    if (found.length > 1) halfFailures.push(`${a.email}: ${answered}, ${found.length} invitations`);
    else if (found.length === 0 && (mailTo.get(canonical) ?? 0) > 0) halfFailures.push(`${a.email}: ${answered}, no invitation but an email`);
    else if (found.length === 1) {
      const row = found[0]!;
      if (a.status !== null && a.status < 500) halfFailures.push(`${a.email}: refused ${a.status} (${a.problem}) yet its invitation exists (${row.status})`);
      else if (!views.get(row.id)?.exists) halfFailures.push(`${a.email}: ${answered}, a row (${row.status}) without a workflow`);
      else if (row.send_email && ['pending', 'accepted', 'declined', 'expired'].includes(row.status) && (mailTo.get(canonical) ?? 0) === 0) {
        halfFailures.push(`${a.email}: ${answered}, row and workflow but no email`);
      }
    }
  }
  const rowWorkflows = new Set(rows.map((r) => r.workflow_id));
  let strays: string[] = [];
  await eventually(10_000, async () => {
    strays = (await workflowIdsOnQueue(stack)).filter((id) => !rowWorkflows.has(id));
    return strays.length === 0;
  }, 1_000);
  for (const id of strays) halfFailures.push(`${id}: a workflow without its row`);
  add(INVARIANTS.allOrNothing, halfFailures);

  for (const check of options.extra ?? []) {
    let failures: string[];
    try {
      failures = await check.run();
    } catch (err) {
      failures = [`check failed to run: ${(err as Error).message}`];
    }
    add(check.name, failures);
  }

  return {
    scenario: stack.scenario,
    invitations: rows.length,
    emails: messages.length,
    duplicateCopies,
    results,
    notes: options.notes ?? [],
    seconds: Math.round((Date.now() - options.startedAt) / 1000),
  };
}

/** For a report: how often the workflow scheduled the grant (grantRole, or acceptInvitation since MERGED_STEPS), and the attempts each took. */
async function grantHistory(stack: FaultStack, workflowId: string): Promise<string> {
  try {
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Map<string, number>();
    for (const e of history.events ?? []) {
      const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type === 'grantRole' || type === 'acceptInvitation') scheduled.set(String(e.eventId), 0);
      const started = e.activityTaskStartedEventAttributes;
      if (started && scheduled.has(String(started.scheduledEventId))) scheduled.set(String(started.scheduledEventId), started.attempt ?? 1);
    }
    const events = history.events ?? [];
    const updates = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'accept').length;
    const markers = events.filter((e) => e.markerRecordedEventAttributes).length;
    const taskTimeouts = events.filter((e) => e.workflowTaskTimedOutEventAttributes).length;
    const taskFailures = events.filter((e) => e.workflowTaskFailedEventAttributes).length;
    return `history: ${updates} accepts admitted, grant scheduled ${scheduled.size}× (attempts ${[...scheduled.values()].join(',') || '-'}), ${markers} markers (local activities, patches), ${taskTimeouts} workflow task timeouts, ${taskFailures} workflow task failures`;
  } catch (err) {
    return `history unavailable: ${(err as Error).message.slice(0, 80)}`;
  }
}

/** For a report: what the workflow is doing right now (pending activities, attempts, last failure). */
async function inFlight(stack: FaultStack, workflowId: string): Promise<string> {
  try {
    const { raw } = await stack.client.workflow.getHandle(workflowId).describe();
    const pending = (raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} attempt ${a.attempt}${a.lastFailure ? ` (${a.lastFailure.message?.slice(0, 60)})` : ''}`);
    return pending.length ? `, in flight: ${pending.join('; ')}` : ', no activity in flight';
  } catch {
    return '';
  }
}

/** The invitation row for an id (scenario checks use it). */
export async function rowFor(stack: FaultStack, id: string): Promise<Row | undefined> {
  return (await rowsOf(stack)).find((r) => r.id === id);
}

export { rowsOf };
