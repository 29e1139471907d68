import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { Activities } from '../activities/index';
import {
  type AcceptArgs,
  type ActorArgs,
  acceptUpdate,
  type Deadline,
  declineUpdate,
  type EditArgs,
  editUpdate,
  FailureType,
  type InvitationState,
  type InvitationStatus,
  type InvitationWorkflowInput,
  type ResendArgs,
  resendUpdate,
  revokeUpdate,
  stateQuery,
  terminalRefusals,
} from './messages';
import { reminderTimes } from './schedule';
import { ExpiresAtKey, InvitationStatusKey } from './search-attributes';

// Database steps are short and idempotent: retry them until the database is back.
const data = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Mail servers go away for minutes, not milliseconds. A send is idempotent through the email ledger, so retrying
// after a timeout cannot deliver a second, different email. The activity itself ends the retries: a 5xx is final at
// once (EmailRejected), transient failures once they have lasted the retry window (MailUndeliverable, MAIL_RETRY_HOURS).
// Its SMTP timeouts stay well under the minute (src/email/mailer.ts) and it heartbeats while the server talks, so an
// attempt on a worker that died is retried after 30 seconds, not after the minute. (20 s left a loaded worker too
// little slack: a heartbeat waits for the one before it to be answered, and a busy server answered late.)
const mail = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

// Since MERGED_STEPS, the steps of the waiting loop and the end (a reminder, the expiry, the inviter's notice) run as
// local activities, inside the workflow task that reached them: no activity task and no further workflow task each
// (an expiry with three reminders: 74 history events → 39). The email ledger makes a repeated attempt send nothing
// twice; a send's own retry window (MAIL_RETRY_HOURS) ends its attempts, and the day's schedule-to-close bounds them.
const inTaskMail = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});
const inTaskData = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** How long a decision waits for the one in flight before it is answered "busy": under the API's update deadline. */
const DECISION_QUEUE_MS = 8_000;

/*
 * Versions of the command sequence. Invitations run for weeks, so a change to what this function does must leave
 * every recorded history replaying as it ran: each new path starts with `patched(id)`, which writes a marker on the
 * path's first run and answers false when an old history without the marker is replayed. Never rename or remove one
 * while an invitation that ran the old path can still be open or queried (docs/reliability.md). An invitation started
 * with `version: 1` (workflows/messages.ts) has the three below on without asking, so without their markers.
 */
/** An activity failure (a refused reminder or notice, mail undeliverable, any non-retryable failure) settles the invitation as bounced or failed, with its reason, instead of failing the workflow. */
const FAILURES_SETTLE = 'failures-settle-the-invitation';
/** A resend's email goes out after the decision, from the main loop: a slow mail server no longer holds up other decisions. */
const RESEND_MAIL_AFTER_DECISION = 'resend-mail-after-decision';

/**
 * Fewer steps, fewer workflow tasks: the opening steps (validate, provision, send) are one activity, an accept's
 * (validate, grant, settle) one, and a decision no longer cancels the timer of the next reminder or the expiry: the
 * loop waits on the same timer again, and a closed invitation simply leaves it; reminders, the expiry and the inviter's
 * notice are local activities (inTaskMail, inTaskData). Create → accept: 55 history events → 27.
 */
const MERGED_STEPS = 'merged-steps';

type DecisionStep = 'validateInviter' | 'grantRole' | 'finishInvitation' | 'rotateToken' | 'editInvitation' | 'acceptInvitation';

/**
 * One database step of a decision, which someone is waiting on: where the server supports task queue priority, it
 * goes ahead of the sends of every other invitation (an accept during a bulk import of thousands). Local activities
 * would skip the queue altogether, but this SDK's core mishandles updates that arrive while a local activity runs
 * ("Trying to send a new WFT for a run which already has one"), re-running the steps: not for decisions.
 */
function decisionStep<K extends DecisionStep>(name: K, summary: string, ...args: Parameters<Activities[K]>): Promise<Awaited<ReturnType<Activities[K]>>> {
  const run = data[name] as {
    executeWithOptions(options: ActivityOptions, args: Parameters<Activities[K]>): Promise<Awaited<ReturnType<Activities[K]>>>;
  };
  return run.executeWithOptions({ summary, priority: { priorityKey: 1 } }, args);
}

export async function invitationWorkflow(input: InvitationWorkflowInput): Promise<InvitationState> {
  const { invitationId } = input;
  let status: InvitationStatus = 'pending';
  let failureReason: string | null = null;
  let expiresAt = input.expiresAt;
  let cycleStart = input.createdAt;
  let cycleReminders = 0;
  let tokenGeneration = 0;
  let scheduleVersion = 0;
  // A decision in flight: holds expiry and other decisions off until it has settled.
  let deciding = false;
  let decision = '';
  // The email of the last resend, sent by the main loop once the resend is decided.
  let resendMail: { generation: number; dueAt: number } | undefined;
  let noticeProblem: string | null = null;
  const sentReminders: number[] = [];

  // An invitation started with a version has these three paths on from its start (workflows/messages.ts); one started
  // before input versions asks `patched()`, whose answer its history's markers fix. A patch added later is not one of
  // them: a version-1 history recorded before it has no marker for it, so it asks `patched()` (or comes with version 2).
  const pathOn = (patch: typeof MERGED_STEPS | typeof FAILURES_SETTLE | typeof RESEND_MAIL_AFTER_DECISION): boolean =>
    input.version !== undefined || patched(patch);
  // Decided once, at the first task: a history recorded before the change replays on the old path throughout.
  const merged = pathOn(MERGED_STEPS);
  // A step that failed: an activity's failure, or (a local activity's, since MERGED_STEPS) its own ApplicationFailure.
  const stepFailed = (err: unknown) => err instanceof ActivityFailure || (merged && err instanceof ApplicationFailure);
  // The timer the main loop waits on, kept across decisions while its deadline stands (MERGED_STEPS).
  let timer: { deadline: number; fired: Promise<void>; scope: CancellationScope } | undefined;
  const timerUntil = (deadline: number): Promise<void> => {
    if (timer?.deadline !== deadline) {
      timer?.scope.cancel();
      const scope = new CancellationScope();
      const fired = scope
        .run(() => sleep(deadline - Date.now()))
        .catch((err: unknown) => {
          if (!isCancellation(err)) throw err;
        });
      timer = { deadline, fired, scope };
    }
    return timer.fired;
  };

  const scheduleUntil = (until: number) => (input.sendEmail ? reminderTimes(cycleStart, until, input.reminderDays, input.reminderBasisDays) : []);
  const schedule = () => scheduleUntil(expiresAt);
  const nextReminder = (): number | undefined => schedule()[cycleReminders];
  // A reminder being sent: the next one is known only once it is out.
  let reminding = false;
  /**
   * What the invitation's row records of the schedule once an email is out (the reminder after `cycleReminders + ahead`),
   * for the link and expiry it was decided for: the row keeps it only if neither changed meanwhile.
   */
  const nextOnRow = (ahead: number) => ({ reminderAt: schedule()[cycleReminders + ahead] ?? null, expiresAt });
  const state = (): InvitationState => {
    const next = status === 'pending' ? nextReminder() : undefined;
    return {
      status,
      failureReason,
      expiresAt: new Date(expiresAt).toISOString(),
      nextReminderAt: next === undefined ? null : new Date(next).toISOString(),
      remindersSent: sentReminders.length,
      reminderTimes: sentReminders.map((t) => new Date(t).toISOString()),
      tokenGeneration,
    };
  };

  // What the Temporal UI shows as this invitation's current details: no address, no link, only where it stands.
  const showDetails = () => {
    const lines = [`**${status}**${deciding ? ` · deciding: ${decision}` : ''}${tokenGeneration > 0 ? ` · link ${tokenGeneration + 1}` : ''}`];
    if (status === 'pending') {
      const next = nextReminder();
      lines.push(next === undefined ? 'No reminder left' : `Next: reminder ${cycleReminders + 1} of ${schedule().length} at ${utc(next)}`);
      lines.push(`Expires: ${utc(expiresAt)}`);
    } else if (failureReason) {
      lines.push(`Reason: ${withoutAddresses(failureReason)}`);
    }
    lines.push(`Reminders sent: ${sentReminders.length}`);
    if (noticeProblem) lines.push(`Notice to the inviter not delivered: ${withoutAddresses(noticeProblem)}`);
    setCurrentDetails(lines.join('\n'));
  };

  const settle = async (next: InvitationStatus, actor: string, reason?: string, inDecision = false) => {
    const at = Date.now();
    const finish = { invitationId, status: next, actor, reason: reason ?? null, at };
    if (inDecision) await decisionStep('finishInvitation', `settle: ${next}`, finish);
    else await (merged ? inTaskData : data).finishInvitation.executeWithOptions({ summary: `settle: ${next}` }, [finish]);
    status = next;
    failureReason = reason ?? null;
    upsertSearchAttributes([{ key: InvitationStatusKey, value: next }]);
    showDetails();
  };

  const refuseUnlessOpen = () => {
    if (status !== 'pending') {
      throw ApplicationFailure.create({ type: FailureType.NotPending, message: `invitation is ${status}`, nonRetryable: true });
    }
  };

  /**
   * Decisions take turns. One that arrives while another is in flight waits for it (up to DECISION_QUEUE_MS, then
   * "busy, try again"), and then finds the invitation as the first one left it: it is refused only if the first made
   * it impossible (the invitation closed, the link replaced), and `stillValid` checks again what its validator checked.
   * An update history of old never waited here: its validator refused a second decision outright.
   */
  const decide = async <T>(what: string, args: Deadline, step: () => Promise<T>, stillValid?: () => void): Promise<T> => {
    refuseIfLate(args);
    if (deciding) {
      const until = args.answerBy ?? Date.now() + DECISION_QUEUE_MS;
      while (deciding) {
        const left = until - Date.now();
        if (left <= 0 || !(await condition(() => !deciding, left))) {
          throw ApplicationFailure.create({ type: FailureType.Busy, message: `another decision (${decision}) is still in flight`, nonRetryable: true });
        }
      }
      // The turn may come only after the caller stopped waiting (a local activity holds the task while it runs).
      refuseIfLate(args);
      refuseUnlessOpen();
      stillValid?.();
    }
    deciding = true;
    decision = what;
    showDetails();
    try {
      return await step();
    } finally {
      deciding = false;
      decision = '';
      showDetails();
    }
  };

  /**
   * Runs steps whose failure ends the invitation. A refusal (a bounce, an inviter who may not invite) always did; since
   * FAILURES_SETTLE any activity failure does, as `bounced` (the mail server refused the address or the message) or
   * `failed` with the reason. Returns false when the invitation was settled.
   */
  const orSettle = async (steps: () => Promise<unknown>, refusalsSettledBefore: boolean): Promise<boolean> => {
    try {
      await steps();
      return true;
    } catch (err) {
      const refusal = refusalsSettledBefore ? businessRefusal(err) : undefined;
      if (!refusal && !(stepFailed(err) && pathOn(FAILURES_SETTLE))) throw err;
      const failure = refusal ?? failureOf(err);
      // Wait out a decision that raced the step (e.g. a revoke), so the invitation gets one final status.
      await condition(() => !deciding);
      if (status === 'pending') await settle(failure.type === FailureType.EmailRejected ? 'bounced' : 'failed', 'system', failure.message);
      return false;
    }
  };

  // The caller gave up waiting before this decision could start: it must not happen behind its back.
  const refuseIfLate = (args: Deadline) => {
    if (args.answerBy !== undefined && Date.now() > args.answerBy) {
      throw ApplicationFailure.create({ type: FailureType.Busy, message: 'the decision arrived after its caller stopped waiting', nonRetryable: true });
    }
  };

  const checkGeneration = (args: AcceptArgs) => {
    if (args.tokenGeneration !== tokenGeneration) {
      throw ApplicationFailure.create({ type: FailureType.TokenSuperseded, message: 'this link was replaced by a newer one', nonRetryable: true });
    }
  };
  const checkExpiry = (args: { expiresAt?: number }) => {
    if (args.expiresAt !== undefined && args.expiresAt <= Date.now()) {
      throw ApplicationFailure.create({ type: FailureType.InvalidExpiry, message: 'the new expiry must be in the future', nonRetryable: true });
    }
  };

  /** The accept of MERGED_STEPS: one activity; a refusal or an impossible grant settles the invitation as failed. */
  const acceptInOneStep = async (args: AcceptArgs) => {
    const at = Date.now();
    let redirectUrl: string | null;
    try {
      ({ redirectUrl } = await decisionStep('acceptInvitation', 'accept: check the inviter, grant the role, settle', {
        invitationId,
        ...(args.acceptanceId ? { acceptanceId: args.acceptanceId } : {}),
        at,
      }));
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const refusal = businessRefusal(err);
      const failure = refusal ?? failureOf(err);
      await settle('failed', refusal ? 'invitee' : 'system', failure.message, true);
      throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true });
    }
    status = 'accepted';
    upsertSearchAttributes([{ key: InvitationStatusKey, value: 'accepted' }]);
    return { redirectUrl };
  };

  setHandler(stateQuery, state);

  setHandler(
    acceptUpdate,
    (args: AcceptArgs) =>
      decide(
        'accept',
        args,
        async () => {
          if (merged) return acceptInOneStep(args);
          try {
            await decisionStep('validateInviter', 'accept: may the inviter still grant the role?', { invitationId });
          } catch (err) {
            const refusal = businessRefusal(err);
            if (!refusal) throw err;
            await settle('failed', 'invitee', refusal.message, true);
            throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
          }
          // Only a named account adds a field: the activity input of every other accept stays as it was.
          const grant = args.acceptanceId ? { invitationId, acceptanceId: args.acceptanceId } : { invitationId };
          try {
            await decisionStep('grantRole', 'accept: grant the role', grant);
          } catch (err) {
            // The role, tenant or inviter is gone: nothing can be granted, ever.
            if (!(err instanceof ActivityFailure && pathOn(FAILURES_SETTLE))) throw err;
            const failure = failureOf(err);
            await settle('failed', 'system', failure.message, true);
            throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true });
          }
          const at = Date.now();
          const { redirectUrl } = await decisionStep('finishInvitation', 'settle: accepted', {
            invitationId,
            status: 'accepted',
            actor: 'invitee',
            reason: null,
            at,
          });
          status = 'accepted';
          upsertSearchAttributes([{ key: InvitationStatusKey, value: 'accepted' }]);
          return { redirectUrl };
        },
        () => checkGeneration(args),
      ),
    {
      validator: (args: AcceptArgs) => {
        refuseIfLate(args);
        refuseUnlessOpen();
        checkGeneration(args);
      },
    },
  );

  setHandler(
    declineUpdate,
    (args: ActorArgs) =>
      decide('decline', args, async () => {
        await settle('declined', args.actor, args.reason, true);
        return state();
      }),
    {
      validator: (args: ActorArgs) => {
        refuseIfLate(args);
        refuseUnlessOpen();
      },
    },
  );

  setHandler(
    revokeUpdate,
    (args: ActorArgs) =>
      decide('revoke', args, async () => {
        await settle('revoked', args.actor, args.reason, true);
        return state();
      }),
    {
      validator: (args: ActorArgs) => {
        refuseIfLate(args);
        refuseUnlessOpen();
      },
    },
  );

  setHandler(
    resendUpdate,
    (args: ResendArgs) =>
      decide(
        'resend',
        args,
        async () => {
          const generation = tokenGeneration + 1;
          await decisionStep('rotateToken', `resend: link ${generation + 1}`, { invitationId, generation, expiresAt: args.expiresAt ?? null, actor: args.actor });
          tokenGeneration = generation;
          if (args.expiresAt !== undefined) {
            expiresAt = args.expiresAt;
            upsertSearchAttributes([{ key: ExpiresAtKey, value: new Date(expiresAt) }]);
          }
          // A resend starts a new reminder cycle from now to the (possibly new) expiry.
          cycleStart = Date.now();
          cycleReminders = 0;
          scheduleVersion++;
          if (input.sendEmail) {
            if (pathOn(RESEND_MAIL_AFTER_DECISION)) {
              resendMail = { generation, dueAt: cycleStart };
            } else {
              await mail.sendInvitationEmail({
                invitationId,
                generation,
                kind: 'invitation',
                sendKey: `invitation-${generation}`,
                dueAt: cycleStart,
                next: nextOnRow(0),
              });
            }
          }
          return state();
        },
        () => checkExpiry(args),
      ),
    {
      validator: (args: ResendArgs) => {
        refuseIfLate(args);
        refuseUnlessOpen();
        checkExpiry(args);
      },
    },
  );

  setHandler(
    editUpdate,
    (args: EditArgs) =>
      decide(
        'edit',
        args,
        async () => {
          // A new expiry moves the rest of the schedule; with a reminder in flight, the row cannot know it yet.
          const next = args.expiresAt === undefined || reminding ? undefined : (scheduleUntil(args.expiresAt)[cycleReminders] ?? null);
          await decisionStep('editInvitation', 'edit', {
            invitationId,
            actor: args.actor,
            roleId: args.roleId ?? null,
            expiresAt: args.expiresAt ?? null,
            message: args.message,
            ...(next !== undefined ? { nextReminderAt: next } : {}),
          });
          if (args.expiresAt !== undefined) {
            expiresAt = args.expiresAt;
            scheduleVersion++;
            upsertSearchAttributes([{ key: ExpiresAtKey, value: new Date(expiresAt) }]);
          }
          return state();
        },
        () => checkExpiry(args),
      ),
    {
      validator: (args: EditArgs) => {
        refuseIfLate(args);
        refuseUnlessOpen();
        checkExpiry(args);
      },
    },
  );

  showDetails();

  // 1. validate, 2. provision, 3. send; unless the bulk chunk that created it did all three before the start (a row
  // whose opening failed there was started without `opened`, and does them here).
  if (input.opened) {
    // Nothing more to open.
  } else if (merged) {
    await orSettle(
      () =>
        mail.openInvitation.executeWithOptions({ summary: 'check the inviter, find or create the invitee, send the invitation' }, [
          { invitationId, sendEmail: input.sendEmail, dueAt: input.createdAt },
        ]),
      true,
    );
  } else await orSettle(async () => {
    await data.validateInviter.executeWithOptions({ summary: 'may the inviter invite?' }, [{ invitationId }]);
    await data.provisionInvitee.executeWithOptions({ summary: 'find or create the invitee' }, [{ invitationId }]);
    if (input.sendEmail) {
      await mail.sendInvitationEmail.executeWithOptions({ summary: 'invitation email' }, [
        { invitationId, generation: 0, kind: 'invitation', sendKey: 'invitation-0', dueAt: input.createdAt },
      ]);
    }
  }, true);

  // 4. wait for a decision, reminding on schedule, until expiry.
  while (status === 'pending') {
    if (resendMail) {
      const { generation, dueAt } = resendMail;
      resendMail = undefined;
      await orSettle(
        () =>
          mail.sendInvitationEmail.executeWithOptions({ summary: `invitation email, link ${generation + 1}` }, [
            { invitationId, generation, kind: 'invitation', sendKey: `invitation-${generation}`, dueAt, next: nextOnRow(0) },
          ]),
        false,
      );
      continue;
    }
    const version = scheduleVersion;
    const reminderAt = nextReminder();
    const deadline = reminderAt ?? expiresAt;
    const remaining = deadline - Date.now();
    showDetails();
    if (remaining > 0) {
      const interrupted = () => status !== 'pending' || deciding || scheduleVersion !== version;
      if (merged) await Promise.race([timerUntil(deadline), condition(interrupted)]);
      else await condition(interrupted, remaining);
    }
    await condition(() => !deciding);
    if (status !== 'pending' || scheduleVersion !== version) continue;
    if (Date.now() < deadline) continue;

    if (reminderAt !== undefined) {
      const number = sentReminders.length + 1;
      reminding = true;
      let sent: boolean;
      try {
        sent = await orSettle(
          () =>
            (merged ? inTaskMail : mail).sendInvitationEmail.executeWithOptions({ summary: `reminder ${cycleReminders + 1} of ${schedule().length}` }, [
              {
                invitationId,
                generation: tokenGeneration,
                kind: 'reminder',
                sendKey: `reminder-${number}`,
                dueAt: reminderAt,
                next: nextOnRow(1),
              },
            ]),
          false,
        );
      } finally {
        reminding = false;
      }
      if (!sent) continue;
      sentReminders.push(reminderAt);
      cycleReminders++;
    } else {
      await settle('expired', 'system');
    }
  }

  // 5. tell the inviter how it ended. The invitation keeps its status if the notice cannot be delivered: the
  // activity has written the failure to the audit log.
  if (status === 'accepted' || status === 'expired') {
    try {
      const notice = merged ? inTaskMail.notifyInviter : mail.notifyInviter;
      await notice.executeWithOptions({ summary: `notice to the inviter: ${status}` }, [{ invitationId, kind: status }]);
    } catch (err) {
      // A local activity's failure can arrive as the activity's own ApplicationFailure, unwrapped.
      if (!(stepFailed(err) && pathOn(FAILURES_SETTLE))) throw err;
      noticeProblem = failureOf(err).message;
    }
  }
  showDetails();
  await condition(allHandlersFinished);
  return state();
}

function businessRefusal(err: unknown): { type: string; message: string } | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && (terminalRefusals.includes(cause.type) || cause.type === FailureType.EmailRejected)) {
    return { type: cause.type, message: cause.message };
  }
  return undefined;
}


/** What a failed activity says, as a reason a person can read. */
function failureOf(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  const activity = err instanceof ActivityFailure ? err.activityType : 'a step';
  return { type: 'ActivityFailed', message: `${activity} failed: ${cause instanceof Error ? cause.message : String(cause)}` };
}

const utc = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const withoutAddresses = (text: string): string => text.replace(/[^\s<>"']+@[^\s<>"']+/g, '[address]');
