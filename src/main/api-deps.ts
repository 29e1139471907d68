import type { Outbox } from '../http/outbox';
import type { InvitationDeps } from '../invitations/deps';

export interface ApiDeps extends InvitationDeps {
  /** Named checks for /readyz; each resolves when its dependency answers. */
  readiness: Record<string, () => Promise<unknown>>;
  /** Set by `usher dev` only: the local mail catch-all shown at /dev/outbox. */
  outbox?: Outbox;
  /** Operator token for `/v1/tenants`; undefined closes that surface. */
  adminToken?: string;
}
