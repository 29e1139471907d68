import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index';

/*
 * Why a workflow per (event, endpoint) rather than one per endpoint or a bare activity:
 *   - Durable at-least-once: the workflow id `webhook-<eventId>-<endpointId>` is started once (REJECT_DUPLICATE), and
 *     Temporal keeps retrying its one activity through worker crashes and deploys for up to three days. A bare
 *     activity has no home of its own; an invitation's workflow cannot host it (batch completions have none, and the
 *     invitation's history would grow with every endpoint's retries).
 *   - No head-of-line blocking: one endpoint's dead receiver, or one event it keeps refusing, holds up nothing else,
 *     whereas a workflow per endpoint would queue every later event behind the failing one (or need its own ordering,
 *     retry and continue-as-new bookkeeping). Order among a healthy endpoint's events of one invitation is kept by
 *     the first attempt waiting briefly for the previous event's first attempt (see `orderingWaitMs`).
 *   - The history stays small: one activity with a server-side retry policy is a handful of events however many
 *     attempts it takes; the attempts themselves go to the delivery log table, which the API pages through.
 */

export interface WebhookDeliveryInput {
  /** The event's id, which is also the `webhook-id` header of every attempt. */
  eventId: string;
  endpointId: string;
  /** `automatic`, or `manual-<n>` for the n-th redelivery asked for over the API. */
  run: string;
  /** One HTTP attempt. */
  attemptTimeoutMs: number;
  /** How long a first attempt may wait for the previous event of its invitation to have been tried. */
  orderingWaitMs: number;
  retry: { initialIntervalMs: number; maximumIntervalMs: number; giveUpAfterMs: number };
}

export type WebhookDeliveryResult = 'delivered' | 'failed' | 'skipped';

/** ApplicationFailure types the delivery activity throws. */
export const WebhookFailureType = {
  /** The receiver failed (no answer, not 2xx): retried. */
  Failed: 'WebhookDeliveryFailed',
  /** The target is not allowed (private address, http): not retried. */
  Refused: 'WebhookTargetRefused',
  /** This attempt's failure disabled the endpoint: not retried, and the tenant's owners are told. */
  Disabled: 'WebhookEndpointDisabled',
} as const;

const BOOKKEEPING_MS = 15_000;

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { eventId, endpointId, run } = input;
  const delivery = proxyActivities<Activities>({
    // The HTTP timeout is enforced inside the activity; this bounds the ordering wait and the bookkeeping around it.
    startToCloseTimeout: input.attemptTimeoutMs + input.orderingWaitMs + BOOKKEEPING_MS,
    scheduleToCloseTimeout: input.retry.giveUpAfterMs,
    retry: { initialInterval: input.retry.initialIntervalMs, backoffCoefficient: 2, maximumInterval: input.retry.maximumIntervalMs },
  });
  const bookkeeping = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });

  try {
    return await delivery.deliverWebhook({ eventId, endpointId, run });
  } catch (err) {
    // Given up: out of time, refused, or the endpoint was disabled by this delivery's own failure.
    const type = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
    if (type === WebhookFailureType.Disabled) await bookkeeping.notifyWebhookEndpointDisabled({ endpointId });
    await bookkeeping.markWebhookDeliveryFailed({ eventId, endpointId });
    return 'failed';
  }
}
