import { z } from 'zod';
import { emailAddress } from '../lib/email-address';
import { HTTP_URL_PATTERN } from '../http/openapi';

const text = (max: number) => z.string().max(max);
const languageCode = z.string().regex(/^[A-Za-z]{2}(?:[-_][A-Za-z]{2})?$/, { message: 'must look like en, EN, en-GB or en_GB' });
const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => URL.canParse(v) && ['http:', 'https:'].includes(new URL(v).protocol), { message: 'must be an http(s) URL' })
  .meta({ pattern: HTTP_URL_PATTERN });

export const createInvitationBody = z
  .object({
    email: emailAddress,
    role: z.string().min(1).max(100).describe('Role slug in the tenant, e.g. member'),
    inviter: z
      .string()
      .min(1)
      .max(254)
      .optional()
      .describe('User id or email of the inviter; defaults to the API key owner')
      .meta({ anyOf: [{ pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$' }, { pattern: '@' }] }),
    message: text(5000).optional(),
    firstName: text(200).optional(),
    lastName: text(200).optional(),
    redirectUrl: httpUrl.optional().describe('Where the invitee lands after accepting; host must be on the tenant allow-list'),
    language: languageCode.optional(),
    expiresInDays: z.number().int().min(1).max(365).optional(),
    sendEmail: z.boolean().default(true).describe('false: no email; the response carries the accept URL once'),
  })
  .strict();

export const tokenBody = z.object({ token: z.string().min(1).max(200) }).strict();
export const acceptBody = z
  .object({
    token: z.string().min(1).max(200),
    account: z
      .object({ email: emailAddress, externalId: z.string().min(1).max(255).optional() })
      .strict()
      .optional()
      .describe("The product's signed-in account accepting; needs a server key with invitations:write"),
  })
  .strict();
export const resendBody = z.object({ expiresInDays: z.number().int().min(1).max(365).optional() }).strict();
export const editBody = z
  .object({
    role: z.string().min(1).max(100).optional(),
    expiresInDays: z.number().int().min(1).max(365).optional(),
    message: text(5000).nullable().optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one of role, expiresInDays, message' });
export const revokeBody = z.object({ reason: text(500).optional() }).strict();

export const invitationStatus = z.enum(['pending', 'accepted', 'declined', 'revoked', 'expired', 'bounced', 'failed']);

export const listInvitationsQuery = z
  .object({
    status: invitationStatus.optional(),
    email: z.string().max(254).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const idParam = z.uuid({ message: 'must be an invitation id' });
/** `inviter` when it names a user by id (one with "@" is an email address). */
export const inviterId = z.object({ inviter: z.uuid({ message: 'must be a user id or an email address' }) });

export const invitationView = z.object({
  id: z.uuid(),
  email: z.string(),
  status: invitationStatus,
  failureReason: z.string().nullable(),
  role: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  inviter: z.object({ id: z.string(), email: z.string() }),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  message: z.string().nullable(),
  redirectUrl: z.string().nullable(),
  language: z.string(),
  sendEmail: z.boolean(),
  origin: z.string(),
  expiresAt: z.iso.datetime(),
  remindersSent: z.number().int(),
  workflowId: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  decidedAt: z.iso.datetime().nullable(),
});
