import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { WebhookDeliveryInput, webhookDeliveryWorkflow } from '../../workflows/webhook-delivery';
import type { WebhookSettings } from './settings';

const START_DEADLINE_MS = 10_000;

/** The automatic run of an event at an endpoint has one workflow id forever; the n-th redelivery has its own. */
export const deliveryWorkflowId = (eventId: string, endpointId: string, run: string): string =>
  run === 'automatic' ? `webhook-${eventId}-${endpointId}` : `webhook-${eventId}-${endpointId}-${run}`;

/**
 * Starts a delivery workflow unless one with its id ever existed: USE_EXISTING covers a running one, REJECT_DUPLICATE
 * a finished one, so a dispatcher that reads an event twice (a crash before its cursor moved, two workers racing)
 * never delivers it twice as a new workflow.
 */
export async function startDelivery(client: Client, taskQueue: string, settings: WebhookSettings, run: { eventId: string; endpointId: string; run: string }): Promise<void> {
  const input: WebhookDeliveryInput = {
    ...run,
    attemptTimeoutMs: settings.attemptTimeoutMs,
    orderingWaitMs: settings.orderingWaitMs,
    retry: settings.retry,
  };
  try {
    // Bounded, so an unreachable server fails the pass (retried from the same cursor) instead of stalling shutdown.
    await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      client.workflow.start<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', {
        workflowId: deliveryWorkflowId(run.eventId, run.endpointId, run.run),
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { eventId: run.eventId, endpointId: run.endpointId, run: run.run },
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
