import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { UsherError } from '../lib/errors';
import type { invitationWorkflow } from '../../workflows/invitation';
import type { invitationBatchWorkflow } from '../../workflows/invitation-batch';
import {
  type AcceptArgs,
  type AcceptResult,
  type ActorArgs,
  acceptUpdate,
  batchWorkflowIdFor,
  declineUpdate,
  type EditArgs,
  editUpdate,
  FailureType,
  type InvitationBatchInput,
  type InvitationState,
  type InvitationWorkflowInput,
  type ResendArgs,
  resendUpdate,
  revokeUpdate,
  stateQuery,
  workflowIdFor,
} from '../../workflows/messages';
import { ExpiresAtKey, InvitationIdKey, InvitationStatusKey, TenantIdKey } from '../../workflows/search-attributes';

export interface InvitationWorkflows {
  start(input: InvitationWorkflowInput): Promise<void>;
  accept(invitationId: string, args: AcceptArgs): Promise<AcceptResult>;
  decline(invitationId: string, args: ActorArgs): Promise<InvitationState>;
  revoke(invitationId: string, args: ActorArgs): Promise<InvitationState>;
  resend(invitationId: string, args: ResendArgs): Promise<InvitationState>;
  edit(invitationId: string, args: EditArgs): Promise<InvitationState>;
  state(invitationId: string): Promise<InvitationState>;
  startBatch(input: InvitationBatchInput): Promise<void>;
}

const START_DEADLINE_MS = 10_000;

/** The only way the API and the compat adapters reach an invitation's workflow. */
export function invitationWorkflows(client: Client, taskQueue: string): InvitationWorkflows {
  const handle = (id: string) => client.workflow.getHandle(workflowIdFor(id));
  const update = async <R>(_id: string, run: () => Promise<R>): Promise<R> => {
    try {
      return await run();
    } catch (err) {
      throw mapUpdateError(err);
    }
  };
  return {
    async start(input) {
      try {
        // A create request waits for the start, so it must not wait forever on an unreachable server.
        await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => client.workflow.start<typeof invitationWorkflow>('invitationWorkflow', {
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
        }));
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        throw err;
      }
    },
    accept: (id, args) => update(id, () => handle(id).executeUpdate(acceptUpdate, { args: [args] })),
    decline: (id, args) => update(id, () => handle(id).executeUpdate(declineUpdate, { args: [args] })),
    revoke: (id, args) => update(id, () => handle(id).executeUpdate(revokeUpdate, { args: [args] })),
    resend: (id, args) => update(id, () => handle(id).executeUpdate(resendUpdate, { args: [args] })),
    edit: (id, args) => update(id, () => handle(id).executeUpdate(editUpdate, { args: [args] })),
    // Read paths show the state when a worker answers soon, and carry on without it otherwise.
    state: (id) => client.connection.withDeadline(Date.now() + 3_000, () => handle(id).query(stateQuery)),
    async startBatch(input) {
      await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
        client.workflow.start<typeof invitationBatchWorkflow>('invitationBatchWorkflow', {
          workflowId: batchWorkflowIdFor(input.batchId),
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
      );
    },
  };
}

function mapUpdateError(err: unknown): unknown {
  if (err instanceof WorkflowNotFoundError) return new UsherError('invitation-not-pending', 'the invitation is no longer pending');
  const failure = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (failure instanceof ApplicationFailure) {
    switch (failure.type) {
      case FailureType.NotPending:
        return new UsherError('invitation-not-pending', failure.message);
      case FailureType.TokenSuperseded:
        return new UsherError('token-gone', failure.message);
      case FailureType.InviterNotAllowed:
        return new UsherError('inviter-not-allowed', failure.message);
      case FailureType.InvitationsDisabled:
        return new UsherError('invitations-disabled', failure.message);
      case FailureType.InvalidExpiry:
        return new UsherError('invalid-request', failure.message);
    }
  }
  // An update to a workflow that has completed is refused by the server with a plain error.
  if (err instanceof Error && /workflow execution already completed/i.test(err.message)) {
    return new UsherError('invitation-not-pending', 'the invitation is no longer pending');
  }
  return err;
}
