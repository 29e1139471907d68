import type { Db } from '../src/db/connect';
import type { Mailer } from '../src/email/mailer';
import type { CompiledTemplates } from '../src/email/templates';
import type { InvitationDeps } from '../src/invitations/deps';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  templates: CompiledTemplates;
  clock: () => Date;
  tokenSecret: string;
  publicBaseUrl: string;
  /** Bulk rows go through the same createInvitation as the API, which starts workflows: it needs a client. */
  invitations: InvitationDeps;
}
