import type { Db } from '../src/db/connect';
import type { Mailer } from '../src/email/mailer';
import type { CompiledTemplates } from '../src/email/templates';
import type { InvitationDeps } from '../src/invitations/deps';
import type { TokenKeyRing } from '../src/lib/token-keys';
import type { WebhookSettings } from '../src/webhooks/settings';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  templates: CompiledTemplates;
  clock: () => Date;
  tokenKeys: TokenKeyRing;
  publicBaseUrl: string;
  /** Bulk rows go through the same createInvitation as the API, which starts workflows: it needs a client. */
  invitations: InvitationDeps;
  /** Webhook delivery (targets allowed, timeouts, disabling); undefined: production's defaults. */
  webhooks?: WebhookSettings;
  /** How long a send keeps retrying transient failures (4xx, timeouts, a refused login) before it is undeliverable; 24 h if unset. */
  mailRetryMs?: number;
}

export const DEFAULT_MAIL_RETRY_MS = 24 * 60 * 60 * 1000;
