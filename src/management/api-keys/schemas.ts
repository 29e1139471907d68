import { z } from 'zod';
import { apiKeyScopes } from '../../db/database';
import { emailAddress } from '../../lib/email-address';
import { at, resourceId, trimmed } from '../schemas';

const grant = {
  kind: z.enum(['member', 'server']).optional().describe('member (default): acts as its own user only; server: a back end acting for any member'),
  scopes: z
    .array(z.enum(apiKeyScopes))
    .min(1)
    .max(apiKeyScopes.length)
    .optional()
    .describe('Default: invitations:read and invitations:write'),
  maxRank: z.number().int().min(0).max(1_000_000).optional().describe("Server keys: the highest role rank they may grant; default and limit: the maker's own"),
};

export const createApiKeyBody = z
  .object({ name: trimmed(100), userId: resourceId.optional().describe("Whose key; defaults to the calling key's user"), ...grant })
  .strict();

export const operatorApiKeyBody = z
  .object({ name: trimmed(100), email: emailAddress.optional(), userId: resourceId.optional(), ...grant })
  .strict()
  .refine((v) => (v.email === undefined) !== (v.userId === undefined), { message: 'give exactly one of email and userId' })
  .meta({ oneOf: [{ required: ['email'] }, { required: ['userId'] }] });

// Responses.

export const apiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  user: z.object({ id: z.uuid(), email: z.string() }),
  kind: z.enum(['member', 'server']),
  scopes: z.array(z.enum(apiKeyScopes)),
  maxRank: z.number().int().nullable(),
  createdAt: at,
  revokedAt: at.nullable(),
  current: z.boolean().describe('The key this request was made with'),
});

export const createdApiKeyView = apiKeyView.omit({ current: true }).extend({ secret: z.string().describe('Shown once; only its hash is stored') });
