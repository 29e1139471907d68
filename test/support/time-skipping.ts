import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities, type Steps } from '../../activities/index';
import type { Db } from '../../src/db/connect';
import { type MailCatcher, type SmtpBehaviour, startMailCatcher } from '../../src/main/dev/mail-catcher';
import { findTestServer } from '../../src/main/dev/temporal-dev-server';
import { createSmtpMailer, type SmtpTimeouts } from '../../src/email/mailer';
import { compileTemplates } from '../../src/email/templates';
import type { InvitationDeps } from '../../src/invitations/deps';
import { createLogger } from '../../src/lib/log';
import { invitationWorkflows } from '../../src/temporal/invitation-client';
import { quietRuntime } from '../../src/main/worker';
import { tokenKeyRing } from '../../src/lib/token-keys';
import { searchAttributeKeys } from '../../workflows/search-attributes';
import type { createInvitation } from '../../src/invitations/create-invitation';
import type { invitationWorkflow } from '../../workflows/invitation';
import { workflowIdFor } from '../../workflows/messages';
import { freshDatabase } from './database';
import type { TestTenant } from './tenants';

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  db: Db;
  mail: MailCatcher;
  deps: InvitationDeps;
  taskQueue: string;
  /** Aligns `deps.clock` with the test server, whose time runs ahead of the wall clock once tests skip. */
  syncClock(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The time-skipping test server with a real worker running the real activities over a fresh PostgreSQL database and
 * a loopback SMTP server: days of reminders and expiry pass in milliseconds. `wrap` lets a test force a failure the
 * real activities cannot produce on demand.
 */
export async function startTimeSkippingStack(
  options: {
    wrap?: (steps: Steps) => Steps;
    rejectRecipient?: (address: string) => boolean;
    /** How the loopback SMTP server answers (mail.behave changes it later). */
    smtp?: SmtpBehaviour;
    smtpTimeouts?: SmtpTimeouts;
    /** The send retry window (MAIL_RETRY_HOURS); 24 h unless given. */
    mailRetryMs?: number;
  } = {},
): Promise<TimeSkippingStack> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTestServer() } },
  });
  await registerSearchAttributes(env);
  const database = await freshDatabase();
  const mail = await startMailCatcher({ rejectRecipient: options.rejectRecipient, behaviour: options.smtp });
  const mailer = createSmtpMailer(mail.url, 'Usher <invitations@usher.test>', options.smtpTimeouts);
  const taskQueue = `usher-ts-${randomBytes(4).toString('hex')}`;
  const tokenKeys = tokenKeyRing(randomBytes(32).toString('base64url'));
  const publicBaseUrl = 'http://usher.test';
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  const deps: InvitationDeps = {
    db: database.db,
    // Decisions' deadlines in the test server's time, which runs ahead of the wall clock once tests skip.
    workflows: invitationWorkflows(env.client, taskQueue, { clock: () => env.currentTimeMs() }),
    tokenKeys,
    resendLimits: { cooldownSeconds: 0, perDay: 0, perInvitation: 0 },
    publicBaseUrl,
    clock,
    log: createLogger('silent'),
  };
  const activities = createActivities({
    db: database.db,
    mailer,
    templates: await compileTemplates(),
    clock,
    tokenKeys,
    publicBaseUrl,
    invitations: deps,
    ...(options.mailRetryMs !== undefined ? { mailRetryMs: options.mailRetryMs } : {}),
  }, options.wrap);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
    activities,
  });
  const running = worker.run();
  return {
    env,
    db: database.db,
    mail,
    deps,
    taskQueue,
    async syncClock() {
      offsetMs = (await env.currentTimeMs()) - Date.now();
    },
    async stop() {
      worker.shutdown();
      await running;
      mailer.close();
      await mail.stop();
      await env.teardown();
      await database.drop();
    },
  };
}

/** The dev server registers them from its command line; the test server needs the operator API. */
async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const types: Record<string, temporal.api.enums.v1.IndexedValueType> = {
    KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(searchAttributeKeys.map((k) => [k.name, types[k.type]!])),
  });
}

/** The token part of an accept link. */
export const tokenOf = (link: string | null): string => {
  if (!link) throw new Error('the email has no accept link');
  return link.slice(link.lastIndexOf('/') + 1);
};

export type InviteCommand = Parameters<typeof createInvitation>[1];

/** A member invitation from the tenant's owner, with email, as the workflow tests write it; `extra` overrides. */
export const memberInvitation = (tenant: TestTenant, email: string, extra: Partial<InviteCommand> = {}): InviteCommand => ({
  tenantId: tenant.id,
  email,
  role: { slug: 'member' },
  inviterUserId: tenant.owner.id,
  sendEmail: true,
  origin: 'test',
  actor: 'test',
  ...extra,
});

/** The typed handle of an invitation's workflow on the time-skipping server. */
export const invitationHandle = (stack: TimeSkippingStack, invitationId: string) =>
  stack.env.client.workflow.getHandle<typeof invitationWorkflow>(workflowIdFor(invitationId));
