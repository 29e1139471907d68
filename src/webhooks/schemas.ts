import { z } from 'zod';
import { webhookEventTypes } from './events';

export const endpointId = z.uuid({ message: 'must be an id (a UUID)' });
export const eventId = z.string().regex(/^evt_[0-9a-f]{32}$/, { message: 'must be an event id (evt_…)' });

const url = z.string().trim().min(1).max(2000).describe('Where events are POSTed: https (http and private addresses only where the settings allow them)');
const description = z.string().trim().max(500).nullable();
const eventTypes = z
  .array(z.enum(webhookEventTypes))
  .max(webhookEventTypes.length)
  .transform((types) => [...new Set(types)])
  .describe('The event types it receives; empty or left out: every type');

export const createEndpointBody = z
  .object({ url, description: description.optional(), eventTypes: eventTypes.optional(), enabled: z.boolean().optional() })
  .strict();

export const updateEndpointBody = z
  .object({
    url: url.optional(),
    description: description.optional(),
    eventTypes: eventTypes.optional(),
    enabled: z.boolean().optional().describe('true again after the endpoint was disabled: its failure count starts afresh'),
  })
  .strict();

export const rotateSecretBody = z
  .object({
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional()
      .describe('How long the old secret keeps signing alongside the new one; default 86400 (24 h), 0 = stop at once'),
  })
  .strict();

export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const deliveriesQuery = pageQuery.extend({ eventId: eventId.optional().describe('Only the attempts for this event') }).strict();

// Responses.

const at = z.iso.datetime();

export const endpointView = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.enum(webhookEventTypes)).describe('Empty: every type'),
  enabled: z.boolean(),
  disabledAt: at.nullable(),
  disabledReason: z.string().nullable(),
  health: z.object({
    consecutiveFailures: z.number().int(),
    failingSince: at.nullable(),
    lastSuccessAt: at.nullable(),
  }),
  previousSecretExpiresAt: at.nullable().describe('Until then, the rotated-out secret signs too'),
  createdAt: at,
  updatedAt: at,
});

export const endpointWithSecretView = endpointView.extend({
  secret: z.string().describe('whsec_…: shown in this answer only. Verify signatures with it (Standard Webhooks)'),
});

export const attemptView = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string().nullable(),
  run: z.string().describe('automatic, or manual-<n> for the n-th redelivery'),
  attempt: z.number().int(),
  at,
  url: z.string(),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int(),
  succeeded: z.boolean(),
  error: z.string().nullable(),
  responseBody: z.string().nullable().describe('The first 1 KiB of the answer'),
});

export const redeliveryView = z.object({
  eventId: z.string(),
  endpointId: z.uuid(),
  run: z.string(),
  status: z.literal('pending'),
});

export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
