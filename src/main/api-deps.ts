import type { MailCatcher } from './dev/mail-catcher';
import type { InvitationDeps } from '../invitations/deps';

export interface ApiDeps extends InvitationDeps {
  /** Named checks for /readyz; each resolves when its dependency answers. */
  readiness: Record<string, () => Promise<unknown>>;
  /** Set by `usher dev` only: the local mail catch-all shown at /dev/outbox. */
  outbox?: MailCatcher;
  /** Operator token for `/v1/tenants`; undefined closes that surface. */
  adminToken?: string;
}
