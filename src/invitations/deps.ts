import type { Db } from '../db/connect';
import type { Logger } from '../lib/log';
import type { TokenKeyRing } from '../lib/token-keys';
import type { InvitationWorkflows } from '../temporal/invitation-client';

/** What the invitation commands need; the API and the compat adapters pass the same object. */
export interface InvitationDeps {
  db: Db;
  workflows: InvitationWorkflows;
  tokenKeys: TokenKeyRing;
  resendLimits: ResendLimits;
  publicBaseUrl: string;
  clock: () => Date;
  log: Logger;
}

/** How often one invitation may be sent again: a cooldown, a cap per rolling day, a cap for its lifetime; 0 = none. */
export interface ResendLimits {
  cooldownSeconds: number;
  perDay: number;
  perInvitation: number;
}
