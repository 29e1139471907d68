import type { Migration } from 'kysely/migration';
import * as initial from './2026_11_24_0001_initial';

// Listed explicitly (not read from disk) so the same set runs under tsx, vitest and a bundle.
export const migrations: Record<string, Migration> = {
  '2026_11_24_0001_initial': initial,
};
