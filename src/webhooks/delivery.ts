import { setTimeout as sleep } from 'node:timers/promises';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/connect';
import {
  disableWebhookEndpoint,
  findWebhookEndpointById,
  findWebhookEvent,
  hasEarlierUntriedDelivery,
  markDeliveryFailed,
  recordAttempt,
  type WebhookEndpoint,
} from '../db/webhooks';
import { SpanKind } from '@opentelemetry/api';
import { recordWebhookDelivery, recordWebhookEndpointDisabled } from '../lib/metrics';
import { withSpan } from '../lib/tracing';
import { postWebhook } from './post';
import type { WebhookSettings } from './settings';
import { signatureHeaders, signingSecrets } from './signing';

export interface DeliveryDeps {
  db: Db;
  settings: WebhookSettings;
  clock: () => Date;
}

export type AttemptOutcome =
  | { outcome: 'delivered'; statusCode: number }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'cancelled' }
  | { outcome: 'failed'; error: string; retryable: boolean; disabledEndpoint: boolean };

/**
 * One attempt to deliver an event to an endpoint, and its bookkeeping: the delivery log row, the delivery's state and
 * the endpoint's health in one transaction; then, if the endpoint has now been failing long enough, disabling it.
 * The caller (the activity) turns the outcome into Temporal's terms: return, retry, or give up.
 */
export async function attemptDelivery(
  deps: DeliveryDeps,
  input: { eventId: string; endpointId: string; run: string; attempt: number; signal?: AbortSignal },
): Promise<AttemptOutcome> {
  const { db, settings } = deps;
  const endpoint = await findWebhookEndpointById(db, input.endpointId);
  if (!endpoint) return { outcome: 'skipped', reason: 'the endpoint was deleted' };
  if (!endpoint.enabled) {
    await markDeliveryFailed(db, input);
    return { outcome: 'skipped', reason: 'the endpoint is disabled' };
  }
  const event = await findWebhookEvent(db, input.eventId);
  if (!event) return { outcome: 'skipped', reason: 'the event is no longer stored' };

  if (input.attempt === 1 && input.run === 'automatic') await waitForEarlierEvents(deps, input);
  if (input.signal?.aborted) return { outcome: 'cancelled' };

  const now = deps.clock();
  const timestamp = Math.floor(now.getTime() / 1000);
  const attributes = { 'server.address': hostOf(endpoint.url), 'usher.webhook.event_id': event.id };
  const result = await withSpan('webhook POST', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const posted = await postWebhook({
      url: endpoint.url,
      headers: signatureHeaders(signingSecrets(endpoint, now), event.id, timestamp, event.payload),
      body: event.payload,
      policy: settings,
      timeoutMs: settings.attemptTimeoutMs,
      bodyBytes: settings.responseBodyBytes,
      signal: input.signal,
    });
    if (posted.statusCode !== null) span.setAttribute('http.response.status_code', posted.statusCode);
    return posted;
  });
  // A worker shutting down cancels the attempt: whether the receiver saw it is unknown, and the retry will tell.
  if (result.cancelled) return { outcome: 'cancelled' };
  recordWebhookDelivery({
    ok: result.error === null,
    status: result.statusCode ?? (/time(d)? ?out/i.test(result.error ?? '') ? 'timeout' : 'error'),
    seconds: result.latencyMs / 1000,
  });

  const health = await recordAttempt(db, {
    endpointId: endpoint.id,
    eventId: event.id,
    run: input.run,
    attempt: input.attempt,
    at: now,
    url: endpoint.url,
    statusCode: result.statusCode,
    latencyMs: result.latencyMs,
    succeeded: result.error === null,
    error: result.error,
    responseBody: result.responseBody,
  });
  if (result.error === null) return { outcome: 'delivered', statusCode: result.statusCode! };

  const disabledEndpoint = health ? await disableIfFailingTooLong(deps, endpoint, health, now) : false;
  if (disabledEndpoint) recordWebhookEndpointDisabled();
  return { outcome: 'failed', error: result.error, retryable: result.retryable, disabledEndpoint };
}

/**
 * The disabling rule: at least `afterFailures` failed attempts in a row (any event) and no success for `afterMs`
 * since the first of them. Both, so neither a burst of failures in a minute nor one stale failure days ago disables
 * an endpoint. With the defaults (10 attempts, 3 days) an endpoint is disabled when its oldest failing message has
 * been retried for as long as any message is, i.e. when deliveries start being lost. Returns true for the one
 * attempt that disabled it (its workflow then tells the tenant's owners).
 */
async function disableIfFailingTooLong(
  deps: DeliveryDeps,
  endpoint: WebhookEndpoint,
  health: { consecutive_failures: number; failing_since: Date | null; enabled: boolean },
  now: Date,
): Promise<boolean> {
  const { afterFailures, afterMs } = deps.settings.disable;
  if (!health.enabled || !health.failing_since) return false;
  if (health.consecutive_failures < afterFailures || now.getTime() - health.failing_since.getTime() < afterMs) return false;
  const reason = `${health.consecutive_failures} failed attempts in a row since ${health.failing_since.toISOString()}`;
  return deps.db.transaction().execute(async (tx) => {
    if (!(await disableWebhookEndpoint(tx, { id: endpoint.id, reason, at: now }))) return false;
    await recordAudit(tx, {
      tenantId: endpoint.tenant_id,
      invitationId: null,
      actor: 'system',
      action: 'webhook-endpoint.disabled',
      data: { endpointId: endpoint.id, reason },
    });
    return true;
  });
}

/** Best effort, bounded: a first attempt gives the previous event of its invitation a moment to be tried first. */
async function waitForEarlierEvents(deps: DeliveryDeps, input: { eventId: string; endpointId: string; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + deps.settings.orderingWaitMs;
  while (Date.now() < deadline && !input.signal?.aborted && (await hasEarlierUntriedDelivery(deps.db, input))) {
    await sleep(50, undefined, { signal: input.signal }).catch(() => undefined);
  }
}

/** The host alone names the receiver in a span: a full URL may carry a secret in its path or query. */
function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).host : 'invalid';
}
