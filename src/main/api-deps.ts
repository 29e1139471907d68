import type { Outbox } from '../http/outbox';
import type { InvitationDeps } from '../invitations/deps';

export interface ApiDeps extends InvitationDeps {
  /** Named checks for /readyz; each resolves when its dependency answers. */
  readiness: Record<string, () => Promise<unknown>>;
  /** True once the server is draining for shutdown: /readyz answers 503 so traffic moves elsewhere. Set by listen(). */
  shuttingDown?: () => boolean;
  /** Set by `usher dev` only: the local mail catch-all shown at /dev/outbox. */
  outbox?: Outbox;
  /** Operator token for `/v1/tenants`; undefined closes that surface. */
  adminToken?: string;
  /** Trust X-Forwarded-For and -Proto: only behind a proxy that sets them. */
  trustProxy: boolean;
  /** Per key (writes), per address or account (the seed APIs' logins), and requests at once (src/http/admission.ts); 0 = unlimited. */
  rateLimits: { writesPerMinute: number; loginsPerMinute: number; requestsInFlight: number };
}
