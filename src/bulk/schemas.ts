import { z } from 'zod';

/** How deep a row's values may nest: rows are stored as given, and storing goes by recursion. Real rows are flat. */
export const MAX_ROW_DEPTH = 16;

/** The depth of a JSON value (a scalar is 0), measured without recursion: a body may nest deeper than the stack. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > MAX_ROW_DEPTH) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

const row = z
  .record(z.string(), z.unknown())
  .refine((r) => depthOf(r) <= MAX_ROW_DEPTH, { message: `a row may nest at most ${MAX_ROW_DEPTH} levels deep` })
  .describe('email, role, firstName, lastName, message; checked row by row when the batch runs, so a bad row is reported, not refused');

export const bulkJsonBody = z
  .object({
    invitations: z.array(row).min(1).max(10_000),
    sendEmail: z.boolean().default(true),
    expiresInDays: z.number().int().min(1).max(365).optional(),
  })
  .strict();

export const bulkCsvQuery = z
  .object({
    sendEmail: z.enum(['true', 'false']).default('true'),
    expiresInDays: z.coerce.number().int().min(1).max(365).optional(),
  })
  .strict();

export const batchRowsQuery = z
  .object({
    // A batch holds at most 10,000 rows (MAX_BATCH_ROWS); past that nothing is left to page to.
    after: z.coerce.number().int().min(0).max(10_000).default(0),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();
