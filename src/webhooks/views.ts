import type { WebhookAttempt, WebhookEndpoint } from '../db/webhooks';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** An endpoint as the API shows it: never its secret, but a new one's, once (endpointWithSecretView). */
export function endpointView(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.event_types,
    enabled: e.enabled,
    disabledAt: iso(e.disabled_at),
    disabledReason: e.disabled_reason,
    health: { consecutiveFailures: e.consecutive_failures, failingSince: iso(e.failing_since), lastSuccessAt: iso(e.last_success_at) },
    previousSecretExpiresAt: iso(e.previous_secret_expires_at),
    createdAt: e.created_at.toISOString(),
    updatedAt: e.updated_at.toISOString(),
  };
}

export const endpointWithSecretView = (e: WebhookEndpoint) => ({ ...endpointView(e), secret: e.secret });

export function attemptView(a: WebhookAttempt) {
  return {
    id: String(a.id),
    eventId: a.event_id,
    eventType: a.event_type,
    run: a.run,
    attempt: a.attempt,
    at: a.attempted_at.toISOString(),
    url: a.url,
    statusCode: a.status_code,
    latencyMs: a.latency_ms,
    succeeded: a.succeeded,
    error: a.error,
    responseBody: a.response_body,
  };
}
