import type { Db } from '../db/connect';
import type { Logger } from '../lib/log';
import type { InvitationWorkflows } from '../temporal/invitation-client';

/** What the invitation commands need; the API and the compat adapters pass the same object. */
export interface InvitationDeps {
  db: Db;
  workflows: InvitationWorkflows;
  tokenSecret: string;
  publicBaseUrl: string;
  clock: () => Date;
  log: Logger;
}
