import { z } from 'zod';

/**
 * Shapes every resource of the management surface shares; each resource's own request and response shapes are in its
 * folder's schemas.ts.
 */

export const trimmed = (max: number) => z.string().trim().min(1).max(max);
export const personName = z.string().trim().max(200);

export const resourceId = z.uuid({ message: 'must be an id (a UUID)' });

export const pageFields = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};

// Responses.

export const at = z.iso.datetime();

export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
export const list = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) });
