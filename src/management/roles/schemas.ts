import { z } from 'zod';
import { at, trimmed } from '../schemas';

export const roleSlug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, { message: 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, at most 100 characters' });

export const roleRank = z.number().int().min(0).max(1_000_000).describe('Higher outranks lower; an inviter may grant roles up to their own rank');

export const roleInput = z.object({ slug: roleSlug, name: trimmed(200), rank: roleRank }).strict();

export const createRoleBody = roleInput;
export const updateRoleBody = z.object({ slug: roleSlug, name: trimmed(200), rank: roleRank }).partial().strict();

// Responses.

export const roleRef = z.object({ id: z.uuid(), slug: z.string(), name: z.string(), rank: z.number().int() });

export const roleView = roleRef.extend({ createdAt: at });
