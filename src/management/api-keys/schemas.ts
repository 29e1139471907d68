import { z } from 'zod';
import { emailAddress } from '../../lib/email-address';
import { at, resourceId, trimmed } from '../schemas';

export const createApiKeyBody = z
  .object({ name: trimmed(100), userId: resourceId.optional().describe('Whose key; defaults to the calling key\'s user') })
  .strict();

export const operatorApiKeyBody = z
  .object({ name: trimmed(100), email: emailAddress.optional(), userId: resourceId.optional() })
  .strict()
  .refine((v) => (v.email === undefined) !== (v.userId === undefined), { message: 'give exactly one of email and userId' });

// Responses.

export const apiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  user: z.object({ id: z.uuid(), email: z.string() }),
  createdAt: at,
  revokedAt: at.nullable(),
  current: z.boolean().describe('The key this request was made with'),
});

export const createdApiKeyView = apiKeyView.omit({ current: true }).extend({ secret: z.string().describe('Shown once; only its hash is stored') });
