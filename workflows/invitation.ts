import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index';
import {
  type AcceptArgs,
  type ActorArgs,
  acceptUpdate,
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
// after a timeout cannot deliver a second, different email.
const mail = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

export async function invitationWorkflow(input: InvitationWorkflowInput): Promise<InvitationState> {
  const { invitationId } = input;
  let status: InvitationStatus = 'pending';
  let failureReason: string | null = null;
  let expiresAt = input.expiresAt;
  let cycleStart = input.createdAt;
  let cycleReminders = 0;
  let tokenGeneration = 0;
  let scheduleVersion = 0;
  // A decision in flight: holds expiry and a second decision off until the first has settled.
  let deciding = false;
  const sentReminders: number[] = [];

  const schedule = () => (input.sendEmail ? reminderTimes(cycleStart, expiresAt, input.reminderDays, input.reminderBasisDays) : []);
  const nextReminder = (): number | undefined => schedule()[cycleReminders];
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

  const settle = async (next: InvitationStatus, actor: string, reason?: string) => {
    const at = Date.now();
    await data.finishInvitation({ invitationId, status: next, actor, reason: reason ?? null, at });
    status = next;
    failureReason = reason ?? null;
    upsertSearchAttributes([{ key: InvitationStatusKey, value: next }]);
  };

  const refuseUnlessOpen = () => {
    if (status !== 'pending' || deciding) {
      throw ApplicationFailure.create({
        type: FailureType.NotPending,
        message: `invitation is ${deciding ? 'being decided' : status}`,
        nonRetryable: true,
      });
    }
  };

  const decide = async <T>(step: () => Promise<T>): Promise<T> => {
    deciding = true;
    try {
      return await step();
    } finally {
      deciding = false;
    }
  };

  setHandler(stateQuery, state);

  setHandler(
    acceptUpdate,
    (args: AcceptArgs) =>
      decide(async () => {
        try {
          await data.validateInviter({ invitationId });
        } catch (err) {
          const refusal = businessRefusal(err);
          if (!refusal) throw err;
          await settle('failed', 'invitee', refusal.message);
          throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
        }
        // Only a named account adds a field: the activity input of every other accept stays as it was.
        await data.grantRole(args.acceptanceId ? { invitationId, acceptanceId: args.acceptanceId } : { invitationId });
        const at = Date.now();
        const { redirectUrl } = await data.finishInvitation({ invitationId, status: 'accepted', actor: 'invitee', reason: null, at });
        status = 'accepted';
        upsertSearchAttributes([{ key: InvitationStatusKey, value: 'accepted' }]);
        return { redirectUrl };
      }),
    {
      validator: (args: AcceptArgs) => {
        refuseUnlessOpen();
        if (args.tokenGeneration !== tokenGeneration) {
          throw ApplicationFailure.create({ type: FailureType.TokenSuperseded, message: 'this link was replaced by a newer one', nonRetryable: true });
        }
      },
    },
  );

  setHandler(
    declineUpdate,
    (args: ActorArgs) =>
      decide(async () => {
        await settle('declined', args.actor, args.reason);
        return state();
      }),
    { validator: (_args: ActorArgs) => refuseUnlessOpen() },
  );

  setHandler(
    revokeUpdate,
    (args: ActorArgs) =>
      decide(async () => {
        await settle('revoked', args.actor, args.reason);
        return state();
      }),
    { validator: (_args: ActorArgs) => refuseUnlessOpen() },
  );

  setHandler(
    resendUpdate,
    (args: ResendArgs) =>
      decide(async () => {
        const generation = tokenGeneration + 1;
        await data.rotateToken({ invitationId, generation, expiresAt: args.expiresAt ?? null, actor: args.actor });
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
          await mail.sendInvitationEmail({ invitationId, generation, kind: 'invitation', sendKey: `invitation-${generation}`, dueAt: cycleStart });
        }
        return state();
      }),
    {
      validator: (args: ResendArgs) => {
        refuseUnlessOpen();
        if (args.expiresAt !== undefined && args.expiresAt <= Date.now()) {
          throw ApplicationFailure.create({ type: FailureType.InvalidExpiry, message: 'the new expiry must be in the future', nonRetryable: true });
        }
      },
    },
  );

  setHandler(
    editUpdate,
    (args: EditArgs) =>
      decide(async () => {
        await data.editInvitation({ invitationId, actor: args.actor, roleId: args.roleId ?? null, expiresAt: args.expiresAt ?? null, message: args.message });
        if (args.expiresAt !== undefined) {
          expiresAt = args.expiresAt;
          scheduleVersion++;
          upsertSearchAttributes([{ key: ExpiresAtKey, value: new Date(expiresAt) }]);
        }
        return state();
      }),
    {
      validator: (args: EditArgs) => {
        refuseUnlessOpen();
        if (args.expiresAt !== undefined && args.expiresAt <= Date.now()) {
          throw ApplicationFailure.create({ type: FailureType.InvalidExpiry, message: 'the new expiry must be in the future', nonRetryable: true });
        }
      },
    },
  );

  // 1. validate, 2. provision, 3. send.
  try {
    await data.validateInviter({ invitationId });
    await data.provisionInvitee({ invitationId });
    if (input.sendEmail) {
      await mail.sendInvitationEmail({ invitationId, generation: 0, kind: 'invitation', sendKey: 'invitation-0', dueAt: input.createdAt });
    }
  } catch (err) {
    const refusal = businessRefusal(err);
    if (!refusal) throw err;
    // Wait out a decision that raced the start (e.g. a revoke), so the invitation gets one final status.
    await condition(() => !deciding);
    if (status === 'pending') {
      await settle(refusal.type === FailureType.EmailRejected ? 'bounced' : 'failed', 'system', refusal.message);
    }
  }

  // 4. wait for a decision, reminding on schedule, until expiry.
  while (status === 'pending') {
    const version = scheduleVersion;
    const reminderAt = nextReminder();
    const deadline = reminderAt ?? expiresAt;
    const remaining = deadline - Date.now();
    if (remaining > 0) {
      await condition(() => status !== 'pending' || deciding || scheduleVersion !== version, remaining);
    }
    await condition(() => !deciding);
    if (status !== 'pending' || scheduleVersion !== version) continue;
    if (Date.now() < deadline) continue;

    if (reminderAt !== undefined) {
      const number = sentReminders.length + 1;
      await mail.sendInvitationEmail({ invitationId, generation: tokenGeneration, kind: 'reminder', sendKey: `reminder-${number}`, dueAt: reminderAt });
      sentReminders.push(reminderAt);
      cycleReminders++;
    } else {
      await settle('expired', 'system');
    }
  }

  // 5. tell the inviter how it ended.
  if (status === 'accepted' || status === 'expired') {
    await mail.notifyInviter({ invitationId, kind: status });
  }
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

