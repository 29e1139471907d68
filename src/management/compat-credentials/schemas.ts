import { z } from 'zod';
import { at, resourceId } from '../schemas';

const expiresAt = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) > Date.now(), { message: 'must be in the future' })
  .optional();
const actingUser = resourceId.optional().describe('The user the credential acts as; defaults to the calling key\'s user');

export const compatCredentialKind = z.enum(['mendix-environment', 'quickbase-user-token', 'quickbase-app-token', 'sap-client', 'akana-session']);
export type IssuableKind = z.infer<typeof compatCredentialKind>;

export const createCompatCredentialBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mendix-environment'), userId: actingUser }).strict(),
  z.object({ kind: z.literal('quickbase-user-token'), userId: actingUser, expiresAt }).strict(),
  z
    .object({
      kind: z.literal('quickbase-app-token'),
      token: z
        .string()
        .regex(/^[A-Za-z0-9_-]{8,200}$/, { message: 'must be 8–200 letters, digits, "_" or "-"' })
        .optional()
        .describe('The app token your Quickbase clients already send; generated when omitted'),
      expiresAt,
    })
    .strict(),
  z.object({ kind: z.literal('sap-client'), userId: actingUser }).strict(),
  z.object({ kind: z.literal('akana-session'), userId: actingUser, expiresAt }).strict(),
]);
export type CreateCompatCredentialBody = z.infer<typeof createCompatCredentialBody>;

// Responses.

export const compatCredentialView = z.object({
  id: z.uuid(),
  kind: z.string(),
  identifier: z.string().nullable().describe('Environment UUID, SAP client id or username; null for bearer tokens'),
  userId: z.uuid().nullable(),
  expiresAt: at.nullable(),
  revokedAt: at.nullable(),
  createdAt: at,
});

export const issuedCompatCredentialView = compatCredentialView.extend({
  secrets: z
    .record(z.string(), z.string())
    .describe(
      'Shown once. mendix-environment: EnvironmentUUID, EnvironmentPassword; quickbase-user-token: usertoken; quickbase-app-token: apptoken; sap-client: clientId, clientSecret; akana-session: cookie, csrfHeader, csrfToken',
    ),
});
