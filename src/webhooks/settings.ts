/** How webhooks behave; `webhookSettings()` fills in what a caller leaves out with the production defaults. */
export interface WebhookSettings {
  /** Allow `http:` endpoint URLs (`usher dev` does; production only with WEBHOOKS_ALLOW_HTTP). */
  allowHttp: boolean;
  /** Allow private, loopback, link-local and other special-purpose targets (`usher dev` does; production only with WEBHOOKS_ALLOW_PRIVATE_TARGETS). */
  allowPrivateTargets: boolean;
  /** How often the dispatcher looks for new audit events when the last look found none. */
  pollIntervalMs: number;
  /** One HTTP attempt, connection to last byte read. */
  attemptTimeoutMs: number;
  /** Exponential backoff between attempts (doubling from `initialIntervalMs`, capped), given up after `giveUpAfterMs`. */
  retry: { initialIntervalMs: number; maximumIntervalMs: number; giveUpAfterMs: number };
  /** An endpoint is disabled once it has failed this many attempts in a row and for this long without a success. */
  disable: { afterFailures: number; afterMs: number };
  /** How long a first attempt waits for the one before it (same invitation, same endpoint) to have been tried. */
  orderingWaitMs: number;
  /** Bytes of a response body kept in the delivery log. */
  responseBodyBytes: number;
  /** How long a rotated-out secret keeps signing alongside the new one, unless the rotation asks otherwise. */
  rotationGraceMs: number;
  /** Delivery log and stored events older than this are deleted. */
  retentionMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const defaultWebhookSettings: WebhookSettings = {
  allowHttp: false,
  allowPrivateTargets: false,
  pollIntervalMs: 1000,
  attemptTimeoutMs: 10_000,
  // 10 s, 20 s, 40 s … 1 h, then hourly: about 80 attempts over three days.
  retry: { initialIntervalMs: 10_000, maximumIntervalMs: HOUR, giveUpAfterMs: 3 * DAY },
  // Failing for as long as a message is retried: by then the endpoint's oldest failed message is giving up too.
  disable: { afterFailures: 10, afterMs: 3 * DAY },
  orderingWaitMs: 5000,
  responseBodyBytes: 1024,
  rotationGraceMs: DAY,
  retentionMs: 30 * DAY,
};

export type WebhookSettingsInput = Partial<Omit<WebhookSettings, 'retry' | 'disable'>> & {
  retry?: Partial<WebhookSettings['retry']>;
  disable?: Partial<WebhookSettings['disable']>;
};

export function webhookSettings(input: WebhookSettingsInput = {}): WebhookSettings {
  return {
    ...defaultWebhookSettings,
    ...input,
    retry: { ...defaultWebhookSettings.retry, ...input.retry },
    disable: { ...defaultWebhookSettings.disable, ...input.disable },
  };
}
