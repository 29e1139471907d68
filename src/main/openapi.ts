import { z } from 'zod';
import { problems } from '../lib/errors';
import { managementPaths, managementSecuritySchemes } from '../management/openapi';
import { problemType } from '../http/problem';
import { bulkJsonBody } from '../bulk/schemas';
import { problemSchema } from '../http/problem';
import { createInvitationBody, editBody, invitationView, listInvitationsQuery, resendBody, revokeBody, tokenBody } from '../invitations/schemas';

const json = (schema: z.ZodType, io: 'input' | 'output') => ({ 'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) } });
const problem = (...codes: (keyof typeof problems)[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(problems[code].status),
      { description: `${problems[code].title} (${problemType(code)})`, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  );
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema, 'output') });
const secured = [{ apiKey: [] }];
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

const listQuery = z.toJSONSchema(listInvitationsQuery, { io: 'input' }) as { properties: Record<string, object> };
const invitationWithTimeline = invitationView.extend({
  nextReminderAt: z.iso.datetime().nullable(),
  timeline: z.array(z.object({ at: z.iso.datetime(), actor: z.string(), action: z.string(), data: z.record(z.string(), z.unknown()) })),
});

/** OpenAPI 3.1, generated from the same zod schemas that validate requests, so the two cannot drift. */
export function openApiDocument(publicBaseUrl: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'Usher', version: '1', description: 'Invitations as durable Temporal workflows. Errors are RFC 9457 problem+json.' },
    servers: [{ url: publicBaseUrl }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key' }, ...managementSecuritySchemes },
      schemas: { Problem: z.toJSONSchema(problemSchema), Invitation: z.toJSONSchema(invitationView) },
    },
    paths: {
      ...managementPaths,
      '/v1/invitations': {
        post: {
          summary: 'Invite someone',
          security: secured,
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
          requestBody: { required: true, content: json(createInvitationBody, 'input') },
          responses: {
            '201': ok('Created; `acceptUrl` only when sendEmail is false', invitationView.extend({ acceptUrl: z.string().optional() })),
            ...problem('invalid-request', 'unauthorized', 'role-too-high', 'open-invitation-exists', 'payload-too-large', 'unsupported-media-type', 'idempotency-key-reused', 'temporal-unavailable'),
          },
        },
        get: {
          summary: 'List invitations, newest first',
          security: secured,
          parameters: Object.entries(listQuery.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
          responses: {
            '200': ok('A page', z.object({ data: z.array(invitationView), nextCursor: z.string().nullable() })),
            ...problem('invalid-request', 'unauthorized'),
          },
        },
      },
      '/v1/invitations/{id}': {
        get: {
          summary: 'One invitation with its timeline',
          security: secured,
          parameters: [idParameter],
          responses: { '200': ok('The invitation', invitationWithTimeline), ...problem('unauthorized', 'not-found') },
        },
        patch: {
          summary: 'Edit a pending invitation in place (role, expiry, message); the timeline keeps what it was',
          security: secured,
          parameters: [idParameter],
          requestBody: { required: true, content: json(editBody, 'input') },
          responses: { '200': ok('Edited', invitationView), ...problem('invalid-request', 'unauthorized', 'role-too-high', 'not-found', 'invitation-not-pending') },
        },
      },
      '/v1/invitations/bulk': {
        post: {
          summary: 'Invite many at once: a JSON list, or text/csv with columns email, role, first_name, last_name, message (≤ 10,000 rows)',
          security: secured,
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } },
            { name: 'sendEmail', in: 'query', required: false, description: 'CSV only', schema: { type: 'string', enum: ['true', 'false'] } },
            { name: 'expiresInDays', in: 'query', required: false, description: 'CSV only', schema: { type: 'integer', minimum: 1, maximum: 365 } },
          ],
          requestBody: { required: true, content: { ...json(bulkJsonBody, 'input'), 'text/csv': { schema: { type: 'string' } } } },
          responses: {
            '202': ok('Accepted: the rows run as durable work', z.object({ id: z.uuid(), status: z.literal('running'), total: z.number().int(), statusUrl: z.string() })),
            ...problem('invalid-request', 'unauthorized', 'payload-too-large', 'unsupported-media-type', 'temporal-unavailable'),
          },
        },
      },
      '/v1/invitation-batches/{id}': {
        get: {
          summary: 'Progress and per-row results of a bulk upload (created, duplicate, invalid with the reason, already-member)',
          security: secured,
          parameters: [
            idParameter,
            { name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 10000 } },
          ],
          responses: { '200': { description: 'The batch with a page of rows; follow nextRowsAfter' }, ...problem('unauthorized', 'not-found') },
        },
      },
      '/v1/invitations/{id}/resend': {
        post: {
          summary: 'New link and email; the old link stops working',
          security: secured,
          parameters: [idParameter],
          requestBody: { required: false, content: json(resendBody, 'input') },
          responses: { '200': ok('Resent', invitationView), ...problem('unauthorized', 'not-found', 'invitation-not-pending') },
        },
      },
      '/v1/invitations/{id}/revoke': {
        post: {
          summary: 'Withdraw a pending invitation',
          security: secured,
          parameters: [idParameter],
          requestBody: { required: false, content: json(revokeBody, 'input') },
          responses: { '200': ok('Revoked', invitationView), ...problem('unauthorized', 'not-found', 'invitation-not-pending') },
        },
      },
      '/v1/invitations/lookup': {
        get: {
          summary: 'What an invitation link is for (invitee side, no API key)',
          parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The invitation as the invitee may see it' }, ...problem('token-not-found', 'token-gone') },
        },
      },
      '/v1/invitations/accept': {
        post: {
          summary: 'Accept with the link token (invitee side)',
          requestBody: { required: true, content: json(tokenBody, 'input') },
          responses: { '200': { description: 'Accepted; redirectUrl if allowed' }, ...problem('token-not-found', 'token-gone', 'inviter-not-allowed') },
        },
      },
      '/v1/invitations/decline': {
        post: {
          summary: 'Decline with the link token (invitee side)',
          requestBody: { required: true, content: json(tokenBody, 'input') },
          responses: { '200': { description: 'Declined' }, ...problem('token-not-found', 'token-gone') },
        },
      },
      '/invite/{token}': {
        get: { summary: 'HTML accept page; never consumes the token', responses: { '200': { description: 'HTML' } } },
        post: { summary: 'Form post: decision=accept|decline', responses: { '303': { description: 'Redirect after accepting' }, '200': { description: 'HTML' } } },
      },
      '/healthz': { get: { summary: 'Process is up', responses: { '200': { description: 'ok' } } } },
      '/readyz': { get: { summary: 'Database and Temporal reachable', responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
    },
  };
}
