import { ApplicationFailure, Context } from '@temporalio/activity';
import { markDeliveryFailed } from '../src/db/webhooks';
import { attemptDelivery } from '../src/webhooks/delivery';
import { notifyEndpointDisabled } from '../src/webhooks/notify';
import { webhookSettings } from '../src/webhooks/settings';
import { WebhookFailureType } from '../workflows/webhook-delivery';
import type { ActivityDeps } from './deps';

/** The webhook delivery workflow's activities. Without webhook settings in the deps, production's (the strict ones) apply. */
export function webhookActivities(deps: ActivityDeps) {
  const settings = deps.webhooks ?? webhookSettings();
  return {
    /**
     * One HTTP attempt per activity attempt: Temporal's retry policy is the backoff, its attempt number is the log's.
     * A failure throws so that Temporal retries it; a refused target or a failure that disabled the endpoint throws
     * non-retryable; a deleted or disabled endpoint ends the delivery quietly.
     */
    async deliverWebhook(input: { eventId: string; endpointId: string; run: string }): Promise<'delivered' | 'skipped'> {
      const context = Context.current();
      const result = await attemptDelivery(
        { db: deps.db, settings, clock: deps.clock },
        { ...input, attempt: context.info.attempt, signal: context.cancellationSignal },
      );
      switch (result.outcome) {
        case 'delivered':
          return 'delivered';
        case 'skipped':
          context.log.info('webhook delivery skipped', { ...input, reason: result.reason });
          return 'skipped';
        case 'cancelled':
          // Rejects with the CancelledFailure the SDK expects from a cancelled activity.
          await context.cancelled;
          throw ApplicationFailure.retryable('cancelled', WebhookFailureType.Failed);
        case 'failed':
          if (result.disabledEndpoint) throw ApplicationFailure.nonRetryable(`${result.error}; the endpoint is now disabled`, WebhookFailureType.Disabled);
          if (!result.retryable) throw ApplicationFailure.nonRetryable(result.error, WebhookFailureType.Refused);
          throw ApplicationFailure.retryable(result.error, WebhookFailureType.Failed);
      }
    },

    async markWebhookDeliveryFailed(input: { eventId: string; endpointId: string }): Promise<void> {
      await markDeliveryFailed(deps.db, input);
    },

    async notifyWebhookEndpointDisabled(input: { endpointId: string }): Promise<void> {
      await notifyEndpointDisabled({ db: deps.db, mailer: deps.mailer, publicBaseUrl: deps.publicBaseUrl }, input.endpointId);
    },
  };
}
