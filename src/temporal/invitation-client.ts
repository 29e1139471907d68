import {
  type Client,
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Circuit } from '../lib/circuit';
import { keyedTurns } from '../lib/turns';
import { UsherError } from '../lib/errors';
import type { invitationWorkflow } from '../../workflows/invitation';
import type { invitationBatchWorkflow } from '../../workflows/invitation-batch';
import {
  type AcceptArgs,
  type AcceptResult,
  type ActorArgs,
  acceptUpdate,
  BATCH_CHUNK_ROWS,
  batchWorkflowIdFor,
  declineUpdate,
  type EditArgs,
  editUpdate,
  FailureType,
  type InvitationBatchInput,
  type InvitationState,
  type InvitationStatus,
  type InvitationWorkflowInput,
  type ResendArgs,
  resendUpdate,
  revokeUpdate,
  stateQuery,
  workflowIdFor,
} from '../../workflows/messages';
import { ExpiresAtKey, InvitationIdKey, InvitationStatusKey, TenantIdKey } from '../../workflows/search-attributes';

/** How an invitation's workflow ended, for a row that still says pending. */
export interface ClosedInvitation {
  invitationId: string;
  status: Exclude<InvitationStatus, 'pending'>;
  reason: string | null;
}

export interface InvitationWorkflows {
  /** `role` names the role in the workflow's summary in the Temporal UI. */
  start(input: InvitationWorkflowInput, display?: { role?: string }): Promise<void>;
  accept(invitationId: string, args: AcceptArgs, options?: DecisionOptions): Promise<AcceptResult>;
  decline(invitationId: string, args: ActorArgs, options?: DecisionOptions): Promise<InvitationState>;
  revoke(invitationId: string, args: ActorArgs): Promise<InvitationState>;
  resend(invitationId: string, args: ResendArgs): Promise<InvitationState>;
  edit(invitationId: string, args: EditArgs): Promise<InvitationState>;
  state(invitationId: string): Promise<InvitationState>;
  startBatch(input: InvitationBatchInput): Promise<void>;
  /** Resolves when the Temporal frontend answers (readiness); fails at once while it is known to be down. */
  ping(): Promise<void>;
  /** Invitation workflows that closed without settling their status (failed, terminated, timed out), newest first. */
  closedWhilePending(limit: number): Promise<ClosedInvitation[]>;
  /** Temporal's health as this process sees it. */
  readonly health: Circuit;
}

export interface DecisionOptions {
  /**
   * Runs when the decision's turn comes after another decision on the same invitation, which may have settled it (the
   * first of twenty clicks on one link); throwing refuses this one without asking the workflow. Without it, each of
   * the nineteen waits for a workflow task of its own to be refused, one after another (on a starved worker, 30 s).
   */
  recheck?: () => Promise<void>;
}

/**
 * Why a start did not confirm. `refused`: the server certainly did not start the workflow (never reached, or it said
 * no), so the caller may undo what it wrote. Otherwise the outcome is unknown (a deadline passed, the connection
 * dropped mid-call): the workflow may exist, and only the reconciler may settle it.
 */
export class WorkflowStartError extends Error {
  constructor(
    readonly refused: boolean,
    cause: unknown,
  ) {
    super(`workflow start ${refused ? 'refused' : 'outcome unknown'}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'WorkflowStartError';
  }
}

/** A create waits for the start: it must not wait long on an unreachable server. */
const START_DEADLINE_MS = 10_000;
/**
 * A decision waits for the workflow's answer, its turn behind another decision included (until its answerBy). Under
 * a backlog (a bulk import's sends ahead of it on the task queue) a decision takes seconds: long enough to answer
 * truly, short enough for an HTTP client.
 */
const DECISION_DEADLINE_MS = 30_000;
/** Read paths show the state when a worker answers soon, and carry on without it otherwise. */
const STATE_DEADLINE_MS = 3_000;
const PROBE_DEADLINE_MS = 1_500;

// gRPC status codes (from @grpc/grpc-js, which is not a direct dependency).
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;
/** Codes with which the server answered the start itself, so nothing was started. */
const REFUSALS = new Set([3, 5, 6, 7, 8, 9, 11, 12, 16]);

/** The origin of an invitation created by a bulk upload's row. */
export const BULK_ORIGIN = 'bulk';

/** Task queue priority of a bulk row's invitation: 1 is the highest, 3 the default, 5 the lowest. */
export const BULK_PRIORITY = 4;

/** The decision's answerBy leaves it this long to travel back before the caller's own deadline. */
const ANSWER_MARGIN_MS = 1_500;

/**
 * The only way the API and the compat adapters reach an invitation's workflow. `clock` is the time decisions' answerBy
 * is counted in: the wall clock, or a time-skipping test server's.
 */
export function invitationWorkflows(client: Client, taskQueue: string, options: { clock?: () => number | Promise<number> } = {}): InvitationWorkflows {
  const clock = options.clock ?? Date.now;
  const answerBy = async () => (await clock()) + DECISION_DEADLINE_MS - ANSWER_MARGIN_MS;
  const handle = (id: string) => client.workflow.getHandle(workflowIdFor(id));
  const probe = () => client.connection.withDeadline(Date.now() + PROBE_DEADLINE_MS, () => client.workflowService.getSystemInfo({}));
  const health = new Circuit('the workflow service', probe, { retryAfterSeconds: 2 });

  /**
   * Runs one call with a deadline, answering 503 at once while Temporal is known to be down. A call that failed
   * without the channel ever connecting was never sent: `NotSent` wraps its error, and Temporal is down.
   */
  const call = async <R>(deadlineMs: number, run: () => Promise<R>): Promise<R> => {
    health.check();
    const deadline = Date.now() + deadlineMs;
    const sending = trackSending(client, deadline);
    try {
      const result = await client.connection.withDeadline(deadline, run);
      health.markUp();
      return result;
    } catch (err) {
      const code = grpcCode(err);
      if (code === undefined || REFUSALS.has(code)) throw err;
      if (!sending.couldHaveSent()) {
        health.markDown(err);
        throw new NotSent(err);
      }
      if (code === UNAVAILABLE) health.markDown(err);
      else if (code === DEADLINE_EXCEEDED) health.suspect(err);
      throw err;
    } finally {
      sending.stop();
    }
  };

  /**
   * Decisions on one invitation from this process go one at a time: twenty clicks on one link send one update, and the
   * rest follow once it is answered (refused by their recheck, or by the workflow's validator). Sent together they
   * would all queue inside the workflow (each an accepted update in its history) and in the server's in-flight update
   * limit.
   * The turn shares the decision's deadline; the workflow's own queue keeps decisions from several processes in order.
   */
  const turns = keyedTurns();
  // An update to a closed workflow can be answered "not found" too: a workflow Temporal describes has closed. One it
  // cannot describe has not started yet, or cannot be told apart from one that has not: "try again" is never wrong.
  const notStartedYet = async (invitationId: string) =>
    client.connection.withDeadline(Date.now() + PROBE_DEADLINE_MS, () => handle(invitationId).describe()).then(
      () => false,
      () => true,
    );
  const decide = async <R>(invitationId: string, run: (answerBy: number) => Promise<R>, options: DecisionOptions = {}): Promise<R> => {
    const arrived = Date.now();
    const by = await answerBy();
    return turns.run(invitationId, DECISION_DEADLINE_MS / 2, async (waited) => {
      if (waited) await options.recheck?.();
      try {
        return await call(DECISION_DEADLINE_MS - (Date.now() - arrived), () => run(by));
      } catch (err) {
        // The row says pending (every decision reads it first) and there is no workflow yet: a bulk chunk sends its rows'
        // emails just before it starts their workflows, and the reconciler makes a start the API never confirmed.
        const mapped =
          err instanceof WorkflowNotFoundError && (await notStartedYet(invitationId))
            ? new UsherError('unavailable', 'the invitation is not ready yet; try again shortly', { retryAfter: 2 }, err)
            : mapUpdateError(err, health);
        if (certainlyNotTaken(err) && mapped instanceof Error) notTaken.add(mapped);
        throw mapped;
      }
    });
  };

  return {
    health,
    async start(input, display = {}) {
      try {
        await call(START_DEADLINE_MS, () =>
          client.workflow.start<typeof invitationWorkflow>('invitationWorkflow', {
            workflowId: workflowIdFor(input.invitationId),
            taskQueue,
            args: [input],
            // A repeated start (the reconciler after a crash) must find the running workflow, never make a second one.
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            typedSearchAttributes: [
              { key: InvitationStatusKey, value: 'pending' },
              { key: TenantIdKey, value: input.tenantId },
              { key: InvitationIdKey, value: input.invitationId },
              { key: ExpiresAtKey, value: new Date(input.expiresAt) },
            ],
            memo: { invitationId: input.invitationId, tenantId: input.tenantId, origin: input.origin ?? 'api' },
            // What the Temporal UI shows of it at a glance: ids, role and origin; never the address or a link.
            staticSummary: staticSummary(input, display.role),
            staticDetails: staticDetails(input, display.role),
            // A bulk upload's invitations queue behind everyone else's: a person's invitation, sent while thousands of
            // rows are opening, goes out first (their steps inherit the workflow's priority; decisions take 1).
            ...(input.origin === BULK_ORIGIN ? { priority: { priorityKey: BULK_PRIORITY } } : {}),
          }),
        );
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        throw new WorkflowStartError(startRefused(err), err);
      }
    },
    // Each decision says when its caller stops waiting: one that could not start by then never happens.
    accept: (id, args, options) => decide(id, (answerBy) => handle(id).executeUpdate(acceptUpdate, { args: [{ ...args, answerBy }] }), options),
    decline: (id, args, options) => decide(id, (answerBy) => handle(id).executeUpdate(declineUpdate, { args: [{ ...args, answerBy }] }), options),
    revoke: (id, args) => decide(id, (answerBy) => handle(id).executeUpdate(revokeUpdate, { args: [{ ...args, answerBy }] })),
    resend: (id, args) => decide(id, (answerBy) => handle(id).executeUpdate(resendUpdate, { args: [{ ...args, answerBy }] })),
    edit: (id, args) => decide(id, (answerBy) => handle(id).executeUpdate(editUpdate, { args: [{ ...args, answerBy }] })),
    state: (id) => call(STATE_DEADLINE_MS, () => handle(id).query(stateQuery)),
    async startBatch(input) {
      try {
        await call(START_DEADLINE_MS, () =>
          client.workflow.start<typeof invitationBatchWorkflow>('invitationBatchWorkflow', {
            workflowId: batchWorkflowIdFor(input.batchId),
            taskQueue,
            args: [{ chunkRows: BATCH_CHUNK_ROWS, ...input }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            staticSummary: `Bulk batch ${input.batchId} · ${input.total} rows`,
          }),
        );
      } catch (err) {
        // A batch whose workflow ran and closed is started no second time.
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        throw new WorkflowStartError(startRefused(err), err);
      }
    },
    async ping() {
      await call(PROBE_DEADLINE_MS + 1_000, probe);
    },
    async closedWhilePending(limit) {
      const query = `WorkflowType = 'invitationWorkflow' AND ExecutionStatus != 'Running' AND ${InvitationStatusKey.name} = 'pending'`;
      const closed: ClosedInvitation[] = [];
      for await (const execution of client.workflow.list({ query, pageSize: limit })) {
        const invitationId = execution.workflowId.replace(/^invitation-/, '');
        closed.push({ invitationId, ...(await outcomeOf(client, execution.workflowId, execution.status.name)) });
        if (closed.length >= limit) break;
      }
      return closed;
    },
  };
}

async function outcomeOf(client: Client, workflowId: string, status: string): Promise<Omit<ClosedInvitation, 'invitationId'>> {
  if (status === 'COMPLETED') {
    const state = (await client.workflow.getHandle(workflowId).result()) as InvitationState;
    if (state.status !== 'pending') return { status: state.status, reason: state.failureReason };
    return { status: 'failed', reason: 'the invitation workflow completed without a decision' };
  }
  if (status === 'FAILED') {
    const failure = await client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => undefined,
        (err: unknown) => (err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : String(err)),
      );
    return { status: 'failed', reason: `the invitation workflow failed${failure ? `: ${failure}` : ''}` };
  }
  return { status: 'failed', reason: `the invitation workflow ended: ${status.toLowerCase().replace(/_/g, ' ')}` };
}

function staticSummary(input: InvitationWorkflowInput, role: string | undefined): string {
  return `Invitation ${input.invitationId} · ${role ?? 'default role'} · via ${input.origin ?? 'api'}`;
}

function staticDetails(input: InvitationWorkflowInput, role: string | undefined): string {
  const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return [
    `**Invitation** ${input.invitationId}`,
    `**Tenant** ${input.tenantId}`,
    `**Role** ${role ?? 'the tenant default'}`,
    `**Origin** ${input.origin ?? 'api'}`,
    `**Created** ${utc(input.createdAt)}`,
    `**Expires** ${utc(input.expiresAt)}`,
    `**Delivery** ${input.sendEmail ? `email, reminders at ${input.reminderDays.join(', ')} of ${input.reminderBasisDays} days` : 'link only, no email'}`,
  ].join('\n');
}

function messagesOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    parts.push(e.message, (e as { details?: string }).details ?? '');
  }
  return parts.join(' ');
}

interface GrpcChannel {
  getConnectivityState(tryToConnect: boolean): number;
  watchConnectivityState(current: number, deadline: number, callback: (err?: Error) => void): void;
}
const READY = 2;

/**
 * Whether a call could have reached the server: only over a channel that was connected (READY) at some moment while
 * it ran. A call that failed on a channel that never connected (Temporal down: refused at once, see connectClient's
 * retry policy, or every retry refused until the deadline) certainly started nothing.
 */
function trackSending(client: Client, deadline: number): { couldHaveSent(): boolean; stop(): void } {
  const channel = (client.connection as unknown as { client?: { getChannel?: () => GrpcChannel } }).client?.getChannel?.();
  if (!channel) return { couldHaveSent: () => true, stop: () => undefined };
  let ready = false;
  let stopped = false;
  const watch = (state: number) => {
    if (state === READY) ready = true;
    if (ready || stopped) return;
    try {
      channel.watchConnectivityState(state, deadline, (err) => {
        if (!err && !stopped) watch(channel.getConnectivityState(false));
      });
    } catch {
      ready = true; // a channel shut down under us: assume the worst
    }
  };
  watch(channel.getConnectivityState(false));
  return {
    couldHaveSent: () => ready || channel.getConnectivityState(false) === READY,
    stop: () => {
      stopped = true;
    },
  };
}

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

/** A call that failed before the channel ever connected: it never left this process. */
class NotSent extends Error {
  constructor(cause: unknown) {
    super(`not sent: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'NotSent';
  }
}

/** True when the server certainly started nothing: it was never reached, or it answered the call with a refusal. */
function startRefused(err: unknown): boolean {
  // The circuit answered, or the channel never connected: nothing was sent.
  if (err instanceof UsherError || err instanceof NotSent) return true;
  const code = grpcCode(err);
  if (code !== undefined && REFUSALS.has(code)) return true;
  if (code === UNAVAILABLE) {
    // grpc-js says so when no connection could be made: the request never left this process.
    return /No connection established|ECONNREFUSED|Name resolution failed|getaddrinfo/i.test(messagesOf(err));
  }
  return false;
}

const notTaken = new WeakSet<Error>();

/**
 * Whether a decision that failed certainly did not happen: it never left this process (Temporal known down, or never
 * reached), or the workflow refused it. A deadline that passed is not such a failure: the decision may still land.
 */
export function decisionNotTaken(err: unknown): boolean {
  return err instanceof Error && notTaken.has(err);
}

function certainlyNotTaken(err: unknown): boolean {
  if (err instanceof NotSent || err instanceof WorkflowNotFoundError) return true;
  // The circuit's own refusal, before anything was sent.
  if (err instanceof UsherError) return err.code === 'unavailable';
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) return true;
  return err instanceof Error && /workflow execution already completed/i.test(err.message);
}

function mapUpdateError(err: unknown, health: Circuit): unknown {
  if (err instanceof UsherError) return err;
  if (err instanceof NotSent) return health.unavailable(undefined, err);
  if (err instanceof WorkflowNotFoundError) return new UsherError('invitation-not-pending', 'the invitation is no longer pending');
  const failure = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (failure instanceof ApplicationFailure) {
    switch (failure.type) {
      case FailureType.NotPending:
      case FailureType.InvitationMissing:
        return new UsherError('invitation-not-pending', failure.message);
      case FailureType.TokenSuperseded:
        return new UsherError('token-gone', failure.message);
      case FailureType.InviterNotAllowed:
        return new UsherError('inviter-not-allowed', failure.message);
      case FailureType.InvitationsDisabled:
        return new UsherError('invitations-disabled', failure.message);
      case FailureType.InvalidExpiry:
        return new UsherError('invalid-request', failure.message);
      case FailureType.Busy:
        return new UsherError('unavailable', `${failure.message}; try again shortly`, { retryAfter: 1 });
    }
  }
  // An update to a workflow that has completed is refused by the server with a plain error.
  if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
    return new UsherError('invitation-not-pending', 'the invitation is no longer pending');
  }
  const code = grpcCode(err);
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || code === DEADLINE_EXCEEDED || code === CANCELLED) {
    return new UsherError(
      'unavailable',
      'the invitation did not answer in time (its worker or database may be down); the decision may still take effect, so look before repeating it',
      { retryAfter: 5 },
      err,
    );
  }
  if (code === UNAVAILABLE) return health.unavailable(undefined, err);
  return err;
}
