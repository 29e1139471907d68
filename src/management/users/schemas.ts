import { z } from 'zod';
import { emailAddress } from '../../lib/email-address';
import { roleRef, roleSlug } from '../roles/schemas';
import { at, pageFields, personName } from '../schemas';

export const listUsersQuery = z.object({ ...pageFields, email: z.string().max(254).optional() }).strict();

const externalId = z.string().trim().min(1).max(200).nullable();
export const createUserBody = z
  .object({
    email: emailAddress,
    firstName: personName.nullable().optional(),
    lastName: personName.nullable().optional(),
    displayName: personName.nullable().optional(),
    externalId: externalId.optional().describe('Your system\'s id for the user; unique in the tenant'),
  })
  .strict();
export const updateUserBody = z
  .object({ firstName: personName.nullable(), lastName: personName.nullable(), displayName: personName.nullable(), externalId })
  .partial()
  .strict();

export const membershipBody = z.object({ role: roleSlug.describe('Role slug') }).strict();

// Responses.

export const userView = z.object({
  id: z.uuid(),
  email: z.string(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  displayName: z.string().nullable(),
  externalId: z.string().nullable(),
  role: roleRef.nullable().describe('The membership; null when the user is not a member'),
  createdAt: at,
});
