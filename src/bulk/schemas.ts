import { z } from 'zod';

export const bulkJsonBody = z
  .object({
    invitations: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000),
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
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();
