import type { Db } from '../src/db/connect';
import type { Mailer } from '../src/email/mailer';
import type { CompiledTemplates } from '../src/email/templates';
import type { InvitationDeps } from '../src/invitations/deps';
import type { TokenKeyRing } from '../src/lib/token-keys';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  templates: CompiledTemplates;
  clock: () => Date;
  tokenKeys: TokenKeyRing;
  publicBaseUrl: string;
  /** Bulk rows go through the same createInvitation as the API, which starts workflows: it needs a client. */
  invitations: InvitationDeps;
}
