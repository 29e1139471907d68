import type { Context as ActivityContext } from '@temporalio/activity';
import type {
  ClientInterceptors,
  Next,
  WorkflowClientInterceptor,
  WorkflowSignalInput,
  WorkflowSignalWithStartInput,
  WorkflowStartInput,
  WorkflowStartOutput,
  WorkflowStartUpdateInput,
  WorkflowStartUpdateOutput,
  WorkflowStartUpdateWithStartInput,
  WorkflowStartUpdateWithStartOutput,
} from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Headers } from '@temporalio/common';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  ActivityOutboundCallsInterceptor,
  GetLogAttributesInput,
} from '@temporalio/worker';
import type { Db } from '../db/connect';
import { batchCounts } from '../db/batches';
import { currentLogContext, isSafeRequestId, type Logger, withLogContext } from '../lib/log';
import {
  batchRows,
  emailRetries,
  emailSendErrors,
  emailsBounced,
  emailsSent,
  invitationsCreated,
  invitationsFinished,
} from '../lib/metrics';
import { FailureType } from '../../workflows/messages';
import { REQUEST_ID_HEADER } from '../../workflows/request-id';

/*
 * Temporal's side of the observability: traces continue from the HTTP request through the workflow start, the
 * workflow and its activities (OpenTelemetry interceptors, the workflow's own in workflows/interceptors.ts); the HTTP
 * request id rides along in a header into workflow and activity log lines; and the outcomes only the worker sees are
 * counted here, from the activities' inputs and results, so the activities themselves stay free of metrics code.
 */

function withRequestIdHeader<T extends { headers: Headers }>(input: T): T {
  const id = currentLogContext().requestId;
  if (!id || !isSafeRequestId(id)) return input;
  return { ...input, headers: { ...input.headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(id) } };
}

function requestIdOf(headers: Headers): string | undefined {
  const payload = headers[REQUEST_ID_HEADER];
  if (!payload) return undefined;
  try {
    const value = defaultPayloadConverter.fromPayload(payload);
    return typeof value === 'string' && isSafeRequestId(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Puts the current request id on every start, update and signal; counts invitations whose workflow started. */
class UsherClientInterceptor implements WorkflowClientInterceptor {
  async startWithDetails(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'startWithDetails'>): Promise<WorkflowStartOutput> {
    const output = await next(withRequestIdHeader(input));
    // A repeated start (the reconciler after a crash between start and bookkeeping) counts again: rare, and harmless
    // for a rate.
    if (input.workflowType === 'invitationWorkflow') {
      const origin = input.options.memo?.origin;
      invitationsCreated.inc({ origin: typeof origin === 'string' ? origin : 'unknown' });
    }
    return output;
  }

  startUpdate(input: WorkflowStartUpdateInput, next: Next<WorkflowClientInterceptor, 'startUpdate'>): Promise<WorkflowStartUpdateOutput> {
    return next(withRequestIdHeader(input));
  }

  startUpdateWithStart(
    input: WorkflowStartUpdateWithStartInput,
    next: Next<WorkflowClientInterceptor, 'startUpdateWithStart'>,
  ): Promise<WorkflowStartUpdateWithStartOutput> {
    const id = currentLogContext().requestId;
    if (!id || !isSafeRequestId(id)) return next(input);
    const header = { [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(id) };
    return next({ ...input, workflowStartHeaders: { ...input.workflowStartHeaders, ...header }, updateHeaders: { ...input.updateHeaders, ...header } });
  }

  signal(input: WorkflowSignalInput, next: Next<WorkflowClientInterceptor, 'signal'>): Promise<void> {
    return next(withRequestIdHeader(input));
  }

  signalWithStart(input: WorkflowSignalWithStartInput, next: Next<WorkflowClientInterceptor, 'signalWithStart'>): Promise<string> {
    return next(withRequestIdHeader(input));
  }
}

/** For every Client: the trace (outermost, so the request id header is added inside its span) and the request id. */
export function clientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor(), new UsherClientInterceptor()] };
}

const EMAIL_ACTIVITIES: Record<string, (args: unknown[]) => string | undefined> = {
  sendInvitationEmail: (args) => String((args[0] as { kind?: string } | undefined)?.kind ?? 'invitation'),
  // The opening steps in one activity (workflows/invitation.ts, MERGED_STEPS): an email only when the invitation sends one.
  openInvitation: (args) => ((args[0] as { sendEmail?: boolean } | undefined)?.sendEmail ? 'invitation' : undefined),
  notifyInviter: () => 'notice',
};

const FINAL_STATUSES = new Set(['accepted', 'declined', 'revoked', 'expired', 'bounced', 'failed']);

/**
 * Runs each activity in the log context of its request and workflow, and counts what it achieved: emails sent,
 * bounced, failed and retried; invitations settled; batch rows. Counting from here keeps activities free of metrics.
 */
class UsherActivityInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: ActivityContext,
    private readonly deps: { db: Db; log: Logger },
    private readonly seen: { requestId?: string },
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = this.ctx.info;
    const type = info.activityType;
    const requestId = requestIdOf(input.headers);
    this.seen.requestId = requestId;
    const fields = { ...(requestId ? { requestId } : {}), workflowId: info.workflowExecution?.workflowId, activityType: type };
    return withLogContext(fields, async () => {
      const emailKind = EMAIL_ACTIVITIES[type]?.(input.args);
      if (emailKind && info.attempt > 1) emailRetries.inc({ kind: emailKind });
      let result: unknown;
      try {
        result = await next(input);
      } catch (err) {
        if (emailKind) {
          if (err instanceof ApplicationFailure && err.type === FailureType.EmailRejected) emailsBounced.inc({ kind: emailKind });
          else emailSendErrors.inc({ kind: emailKind, final: String(err instanceof ApplicationFailure && err.nonRetryable) });
        }
        throw err;
      }
      await this.count(type, input.args, result, emailKind);
      return result;
    });
  }

  private async count(type: string, args: unknown[], result: unknown, emailKind: string | undefined): Promise<void> {
    // sendInvitationEmail answers 'already-sent' or 'skipped' when nothing went out; notifyInviter answers nothing.
    if (emailKind && (result === 'sent' || result === undefined)) emailsSent.inc({ kind: emailKind });
    // A bulk chunk sends its rows' invitations itself (activities/open-invitation.ts).
    if (type === 'processBatchChunk') {
      const sent = (result as { emailsSent?: number } | undefined)?.emailsSent;
      if (sent) emailsSent.inc({ kind: 'invitation' }, sent);
    }
    if (type === 'finishInvitation') {
      const status = (args[0] as { status?: string } | undefined)?.status;
      if (status && FINAL_STATUSES.has(status)) invitationsFinished.inc({ status });
    }
    if (type === 'acceptInvitation') invitationsFinished.inc({ status: 'accepted' });
    if (type === 'completeBatch') {
      const batchId = (args[0] as { batchId?: string } | undefined)?.batchId;
      if (!batchId) return;
      try {
        const counts = await batchCounts(this.deps.db, batchId);
        for (const [result, n] of Object.entries(counts)) if (result !== 'pending' && n > 0) batchRows.inc({ result }, n);
      } catch (err) {
        this.deps.log.warn('could not count the rows of a completed batch', { batchId, error: String(err) });
      }
    }
  }
}

/**
 * The request id on the SDK's own activity log lines (Context.current().log, "Activity completed"), next to the trace
 * ids. Read from what the inbound interceptor saw: the SDK writes some of those lines outside the activity's context.
 */
class UsherActivityOutbound implements ActivityOutboundCallsInterceptor {
  constructor(private readonly seen: { requestId?: string }) {}

  getLogAttributes(input: GetLogAttributesInput, next: Next<ActivityOutboundCallsInterceptor, 'getLogAttributes'>): Record<string, unknown> {
    const requestId = this.seen.requestId;
    return next(requestId ? { requestId, ...input } : input);
  }
}

/** The worker's activity interceptors, outermost first: the trace span, then the log context and the counting. */
export function activityInterceptors(deps: { db: Db; log: Logger }): ((ctx: ActivityContext) => ActivityInterceptors)[] {
  return [
    (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    (ctx) => {
      const seen: { requestId?: string } = {};
      return { inbound: new UsherActivityInbound(ctx, deps, seen), outbound: new UsherActivityOutbound(seen) };
    },
  ];
}
