import type { Db } from '../src/db/connect';
import type { Mailer } from '../src/email/mailer';
import type { CompiledTemplates } from '../src/email/templates';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  templates: CompiledTemplates;
  clock: () => Date;
  tokenSecret: string;
  publicBaseUrl: string;
}
