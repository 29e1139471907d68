/**
 * R5: what an invitation costs Temporal, read from its history: events, bytes, and which events. The create → accept
 * history comes from the dev server run; the expiry with its three reminders from the time-skipping test server (the
 * same workflow code and activities, 14 days passing in seconds).
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index';
import type { Db } from '../src/db/connect';
import { createSmtpMailer } from '../src/email/mailer';
import { compileTemplates } from '../src/email/templates';
import { createInvitation } from '../src/invitations/create-invitation';
import { createLogger } from '../src/lib/log';
import { tokenKeyRing } from '../src/lib/token-keys';
import { findTestServer } from '../src/main/dev/temporal-dev-server';
import { bundleWorkflows, quietRuntime } from '../src/main/worker';
import { invitationWorkflows } from '../src/temporal/invitation-client';
import { workflowIdFor } from '../workflows/messages';
import { searchAttributeKeys } from '../workflows/search-attributes';
import type { LifecycleShape, StepKind } from './bare/workflows';

// A CommonJS module: Node's ESM loader sees only its default export.
const { temporal } = proto;
type IHistory = proto.temporal.api.history.v1.IHistory;
const EventType = temporal.api.enums.v1.EventType;

export interface HistorySummary {
  events: number;
  bytes: number;
  /** Event type (without EVENT_TYPE_) → how many. */
  byType: Record<string, number>;
  workflowTasks: number;
  activities: number;
  localActivities: number;
  timers: number;
  /** The steps before the accept update, inside it, after it: the bare lifecycle's shape. */
  shape: LifecycleShape;
}

export function summarize(history: IHistory): HistorySummary {
  const events = history.events ?? [];
  const byType: Record<string, number> = {};
  const shape: LifecycleShape = { before: [], accept: [], after: [] };
  let phase: keyof LifecycleShape = 'before';
  for (const event of events) {
    const type = EventType[event.eventType ?? 0] ?? String(event.eventType);
    const name = type.replace(/^EVENT_TYPE_/, '');
    byType[name] = (byType[name] ?? 0) + 1;
    let step: StepKind | undefined;
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) phase = 'accept';
    else if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) phase = 'after';
    else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) step = 'activity';
    else if (event.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && event.markerRecordedEventAttributes?.markerName === 'core_local_activity') step = 'local';
    if (step) shape[phase].push(step);
  }
  return {
    events: events.length,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    byType,
    workflowTasks: byType.WORKFLOW_TASK_COMPLETED ?? 0,
    activities: byType.ACTIVITY_TASK_SCHEDULED ?? 0,
    localActivities: shape.before.concat(shape.accept, shape.after).filter((s) => s === 'local').length,
    timers: byType.TIMER_STARTED ?? 0,
    shape,
  };
}

export async function historyOf(client: Client, invitationId: string): Promise<HistorySummary> {
  return summarize(await client.workflow.getHandle(workflowIdFor(invitationId)).fetchHistory());
}

/**
 * An invitation with the tenant's default schedule (reminders at 2, 5 and 10 of 14 days) left to expire, on the
 * time-skipping test server with a worker in this process running the real activities against the bench database
 * and the bench's SMTP server.
 */
export async function expiryHistory(options: { db: Db; smtpUrl: string; tenantId: string; inviterUserId: string }): Promise<HistorySummary & { remindersSent: number; status: string }> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: findTestServer() } } });
  try {
    const types: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
      KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    };
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(searchAttributeKeys.map((k) => [k.name, types[k.type]!])),
    });
    const taskQueue = `bench-expiry-${randomBytes(3).toString('hex')}`;
    const tokenKeys = tokenKeyRing(randomBytes(32).toString('base64url'));
    const log = createLogger('silent');
    const deps = {
      db: options.db,
      workflows: invitationWorkflows(env.client, taskQueue),
      tokenKeys,
      resendLimits: { cooldownSeconds: 0, perDay: 0, perInvitation: 0 },
      publicBaseUrl: 'http://usher.bench',
      clock: () => new Date(),
      log,
    };
    const mailer = createSmtpMailer(options.smtpUrl, 'Usher <invitations@usher.bench>');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflows(),
      activities: createActivities({ db: options.db, mailer, templates: await compileTemplates(), clock: deps.clock, tokenKeys, publicBaseUrl: deps.publicBaseUrl, invitations: deps }),
    });
    const summary = await worker.runUntil(async () => {
      const { invitation } = await createInvitation(deps, {
        tenantId: options.tenantId,
        email: `r5expiry-${randomBytes(4).toString('hex')}@bench.example`,
        role: { slug: 'member' },
        inviterUserId: options.inviterUserId,
        sendEmail: true,
        origin: 'bench',
        actor: 'bench',
      });
      const handle = env.client.workflow.getHandle(workflowIdFor(invitation.id));
      const state = (await handle.result()) as { status: string; remindersSent: number };
      return { ...summarize(await handle.fetchHistory()), remindersSent: state.remindersSent, status: state.status };
    });
    mailer.close();
    return summary;
  } finally {
    await env.teardown();
  }
}
