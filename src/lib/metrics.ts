import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Usher's Prometheus metrics: one registry per process (API or worker), served on its own port by src/main (see
 * docs/operating.md). A module-level registry on purpose: any layer may count something without a dependency being
 * threaded to it, and a process has exactly one /metrics. Names and labels are what docs/grafana-dashboard.json and the
 * alerts in docs/operating.md use: change them together.
 *
 * Labels never hold ids, emails, paths or tokens: only small fixed sets (route patterns, statuses, kinds, origins).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpRequestDuration = new Histogram({
  name: 'usher_http_request_duration_seconds',
  help: 'HTTP requests by method, matched route pattern (never the raw path: it can hold a token) and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const invitationsCreated = new Counter({
  name: 'usher_invitations_created_total',
  help: 'Invitations whose workflow was started, by origin (api, bulk, or a seed API).',
  labelNames: ['origin'] as const,
  registers: [registry],
});

export const invitationsFinished = new Counter({
  name: 'usher_invitations_finished_total',
  help: 'Invitations that reached a final status (accepted, declined, revoked, expired, bounced, failed).',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const emailsSent = new Counter({
  name: 'usher_emails_sent_total',
  help: 'Emails accepted by the SMTP server, by kind (invitation, reminder, notice, …).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const emailsBounced = new Counter({
  name: 'usher_emails_bounced_total',
  help: 'Emails the SMTP server refused for good (5xx on the recipient): the invitation is marked bounced.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const emailSendErrors = new Counter({
  name: 'usher_email_send_errors_total',
  help: 'Failed email attempts other than bounces: final="false" will be retried (SMTP down, timeouts, 4xx), final="true" gave up (undeliverable).',
  labelNames: ['kind', 'final'] as const,
  registers: [registry],
});

export const emailRetries = new Counter({
  name: 'usher_email_retries_total',
  help: 'Email attempts after the first (Temporal activity retries).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const webhookDeliveries = new Counter({
  name: 'usher_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome (delivered, failed) and response class (2xx, 3xx, 4xx, 5xx, timeout, error).',
  labelNames: ['outcome', 'status_class'] as const,
  registers: [registry],
});

export const webhookDeliveryDuration = new Histogram({
  name: 'usher_webhook_delivery_duration_seconds',
  help: 'Time from sending a webhook to its response (or failure), by outcome.',
  labelNames: ['outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const webhookEndpointsDisabled = new Counter({
  name: 'usher_webhook_endpoints_disabled_total',
  help: 'Webhook endpoints disabled after failing for too long.',
  registers: [registry],
});

export const batchRows = new Counter({
  name: 'usher_batch_rows_total',
  help: 'Rows of completed bulk uploads, by result (created, duplicate, invalid, already-member, failed).',
  labelNames: ['result'] as const,
  registers: [registry],
});

/** The class of an HTTP response for a label: `2xx`…`5xx`, or what went wrong before one arrived. */
export function statusClass(status: number | 'timeout' | 'error'): string {
  return typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
}

/**
 * One webhook delivery attempt, for the webhook sender to call once per HTTP attempt:
 * `recordWebhookDelivery({ ok: res.status < 300, status: res.status, seconds })`, or with `status: 'timeout' | 'error'`
 * when no response came.
 */
export function recordWebhookDelivery(attempt: { ok: boolean; status: number | 'timeout' | 'error'; seconds: number }): void {
  const outcome = attempt.ok ? 'delivered' : 'failed';
  webhookDeliveries.inc({ outcome, status_class: statusClass(attempt.status) });
  webhookDeliveryDuration.observe({ outcome }, attempt.seconds);
}

/** An endpoint disabled for failing: call where it is disabled. */
export function recordWebhookEndpointDisabled(): void {
  webhookEndpointsDisabled.inc();
}

/**
 * Gauges read at scrape time (the API registers the invitation backlog: pending in the database vs in Temporal). A
 * reader that throws leaves the gauge without a sample for that scrape rather than failing /metrics.
 */
export function scrapedGauge(options: {
  name: string;
  help: string;
  labelNames?: readonly string[];
  read: () => Promise<{ labels?: Record<string, string>; value: number }[]>;
}): Gauge {
  const existing = registry.getSingleMetric(options.name);
  if (existing) registry.removeSingleMetric(options.name);
  return new Gauge({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames ?? [],
    registers: [registry],
    async collect() {
      this.reset();
      const samples = await options.read().catch(() => []);
      for (const sample of samples) {
        if (sample.labels) this.set(sample.labels, sample.value);
        else this.set(sample.value);
      }
    },
  });
}
