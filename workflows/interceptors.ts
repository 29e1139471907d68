/**
 * Workflow interceptors, bundled with the workflow code (bundleWorkflows in src/main/worker.ts lists this module in
 * `workflowInterceptorModules`). Not a workflow: it is the one module here allowed to import beyond the SDK
 * (.dependency-cruiser.cjs), for the OpenTelemetry interceptors, which are written for the workflow sandbox.
 *
 * - OpenTelemetry: a workflow run continues the trace of the client call that started it (the HTTP request), an
 *   update the trace of its caller, and each activity they schedule continues theirs; spans leave the sandbox through
 *   the worker's `exporter` sink. Only when the caller traced: a start or update without a trace context (tracing off,
 *   a test's plain client, histories recorded before tracing) runs exactly as without these interceptors, so it
 *   neither changes replay nor calls a sink the worker may not have.
 * - The request id: read from the start's (or an update's) header, added to the workflow's log lines, and passed on to
 *   the activities scheduled on its behalf.
 *
 * Replay-safe: whether to trace is decided from the headers in history, headers are not part of what replay compares,
 * and the OpenTelemetry interceptors guard their own changes with SDK flags.
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import {
  type ActivityInput,
  AsyncLocalStorage,
  type ContinueAsNewInput,
  type DisposeInput,
  type GetLogAttributesInput,
  type LocalActivityInput,
  type Next,
  type QueryInput,
  type SignalInput,
  type SignalWorkflowInput,
  type StartChildWorkflowExecutionInput,
  type UpdateInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowInternalsInterceptor,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { REQUEST_ID_HEADER } from './request-id';

/** The header the OpenTelemetry client and workflow interceptors carry the trace context in. */
const TRACE_HEADER = '_tracer-data';

interface Otel {
  inbound: OpenTelemetryInboundInterceptor;
  outbound: OpenTelemetryOutboundInterceptor;
  internals: OpenTelemetryInternalsInterceptor;
}

let loaded: Otel | undefined;

/**
 * The OpenTelemetry interceptors, loaded on a workflow's first traced call: evaluating their modules and setting up
 * their tracer costs each workflow a few milliseconds of CPU, which an untraced workflow does not pay.
 */
function otel(): Otel {
  if (!loaded) {
    const m = require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof import('@temporalio/interceptors-opentelemetry/lib/workflow');
    loaded = { inbound: new m.OpenTelemetryInboundInterceptor(), outbound: new m.OpenTelemetryOutboundInterceptor(), internals: new m.OpenTelemetryInternalsInterceptor() };
  }
  return loaded;
}

interface Caller {
  requestId?: string;
  traced: boolean;
}

/** The caller of the update (or signal) being handled; outside one, the caller that started the workflow. */
const handling = new AsyncLocalStorage<Caller>();
let startedBy: Caller = { traced: false };
const current = (): Caller => handling.getStore() ?? startedBy;

function decode(headers: Headers | undefined, name: string): unknown {
  const payload = headers?.[name];
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
}

function callerOf(headers: Headers | undefined): Caller {
  const requestId = decode(headers, REQUEST_ID_HEADER);
  const trace = decode(headers, TRACE_HEADER) as { traceparent?: unknown } | undefined;
  return { ...(typeof requestId === 'string' ? { requestId } : {}), traced: typeof trace?.traceparent === 'string' };
}

function withRequestId<T extends { headers: Headers }>(input: T): T {
  const id = current().requestId;
  return id ? { ...input, headers: { ...input.headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(id) } } : input;
}

class Inbound implements WorkflowInboundCallsInterceptor {

  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    startedBy = callerOf(input.headers);
    return startedBy.traced ? otel().inbound.execute(input, next) : next(input);
  }

  handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>): Promise<unknown> {
    const caller = callerOf(input.headers);
    return handling.run(caller, () => (caller.traced ? otel().inbound.handleUpdate(input, next) : next(input)));
  }

  validateUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'validateUpdate'>): void {
    if (callerOf(input.headers).traced) otel().inbound.validateUpdate(input, next);
    else next(input);
  }

  handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    const caller = callerOf(input.headers);
    return handling.run(caller, () => (caller.traced ? otel().inbound.handleSignal(input, next) : next(input)));
  }

  handleQuery(input: QueryInput, next: Next<WorkflowInboundCallsInterceptor, 'handleQuery'>): Promise<unknown> {
    return callerOf(input.headers).traced ? otel().inbound.handleQuery(input, next) : next(input);
  }
}

class Outbound implements WorkflowOutboundCallsInterceptor {

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    const withId = withRequestId(input);
    return current().traced ? otel().outbound.scheduleActivity(withId, next) : next(withId);
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    const withId = withRequestId(input);
    return current().traced ? otel().outbound.scheduleLocalActivity(withId, next) : next(withId);
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    const withId = withRequestId(input);
    return current().traced ? otel().outbound.startChildWorkflowExecution(withId, next) : next(withId);
  }

  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>): Promise<never> {
    const withId = withRequestId(input);
    return current().traced ? otel().outbound.continueAsNew(withId, next) : next(withId);
  }

  signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>): Promise<void> {
    return current().traced ? otel().outbound.signalWorkflow(input, next) : next(input);
  }

  getLogAttributes(input: GetLogAttributesInput, next: Next<WorkflowOutboundCallsInterceptor, 'getLogAttributes'>): Record<string, unknown> {
    const id = current().requestId;
    const attributes = id ? { requestId: id, ...input } : input;
    // Trace ids, when this workflow traces.
    return loaded ? loaded.outbound.getLogAttributes(attributes, next) : next(attributes);
  }
}

class Internals implements WorkflowInternalsInterceptor {
  dispose(input: DisposeInput, next: Next<WorkflowInternalsInterceptor, 'dispose'>): void {
    if (loaded) void loaded.internals.dispose(input, next);
    else next(input);
  }
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new Inbound()],
  outbound: [new Outbound()],
  internals: [new Internals()],
});
