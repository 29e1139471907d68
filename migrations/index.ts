import type { Migration } from 'kysely/migration';
import * as initial from './2026_11_24_0001_initial';
import * as compatAndBatches from './2026_11_24_0002_compat_and_batches';
import * as userExternalIds from './2026_11_24_0003_user_external_ids';
import * as trust from './2026_11_29_0004_trust';
import * as webhooks from './2026_11_29_0005_webhooks';
import * as nextReminder from './2026_12_05_0006_next_reminder';

// Listed explicitly (not read from disk) so the same set runs under tsx, vitest and a bundle.
export const migrations: Record<string, Migration> = {
  '2026_11_24_0001_initial': initial,
  '2026_11_24_0002_compat_and_batches': compatAndBatches,
  '2026_11_24_0003_user_external_ids': userExternalIds,
  '2026_11_29_0004_trust': trust,
  '2026_11_29_0005_webhooks': webhooks,
  '2026_12_05_0006_next_reminder': nextReminder,
};
