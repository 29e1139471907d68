import { z } from 'zod';
import {
  body,
  linksTo,
  idempotencyKeyParameter,
  idParameter,
  JSON_BODY,
  jsonSchema,
  KEYED_WRITE,
  ok,
  optionalBody,
  problemResponses,
  queryParameters,
} from '../http/openapi';
import { problems } from '../lib/errors';
import { problemType } from '../http/problem';
import { acceptBody, createInvitationBody, editBody, invitationView, listInvitationsQuery, resendBody, revokeBody, tokenBody } from './schemas';
import { tokenPattern } from './tokens';

/**
 * /v1/invitations (a tenant's API key) and the invitee's side: the JSON calls a product's own accept page makes, and
 * the hosted accept page (`/invite/{token}`, HTML) an email links to.
 */

const apiKey = [{ apiKey: [] }];
const INVITATIONS = ['Invitations'];
const INVITEE = ['Invitee'];

const invitationWithLink = invitationView.extend({
  acceptUrl: z.string().optional().describe('Link-only invitations (sendEmail false): the accept link, in this answer only'),
});

const invitationWithTimeline = invitationView.extend({
  nextReminderAt: z.iso.datetime().nullable().describe('A pending invitation’s next reminder; null when none is left, the invitation is closed, or (rarely) its workflow could not be asked in time'),
  timeline: z.array(z.object({ at: z.iso.datetime(), actor: z.string(), action: z.string(), data: z.record(z.string(), z.unknown()) })),
});

const lookupView = z.object({
  invitationId: z.uuid(),
  email: z.string(),
  tenant: z.object({ id: z.uuid(), name: z.string() }),
  inviterName: z.string(),
  role: z.string().describe('The role\'s display name'),
  message: z.string().nullable(),
  expiresAt: z.iso.datetime(),
  status: invitationView.shape.status,
  acceptPolicy: z.enum(['link', 'email', 'domain']),
});

const location = { Location: { description: 'The invitation: /v1/invitations/{id}', required: true, schema: { type: 'string' } } };
const replayed = { 'Idempotent-Replayed': { description: '"true" when this answers an earlier request with the same Idempotency-Key', required: false, schema: { type: 'string', enum: ['true'] } } };

/** A refusal of the HTML accept page: a page, not problem+json, with the refusal's status. */
const page = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const htmlRefusals = (...codes: (keyof typeof problems)[]) => {
  const byStatus = new Map<number, string[]>();
  for (const code of codes) byStatus.set(problems[code].status, [...(byStatus.get(problems[code].status) ?? []), `${problems[code].title} (${problemType(code)})`]);
  return Object.fromEntries([...byStatus].map(([status, titles]) => [String(status), page(`A page saying: ${titles.join('; ')}`)]));
};

/** The token as the link carries it; anything else is an unknown link (404). */
const tokenSchema = { type: 'string', pattern: tokenPattern.source, description: 'The token of an invitation link (43 base64url characters)' };

/**
 * Refusals of the workflow that decides an invitation, reached by every call that changes one; `unavailable`: another
 * decision still in flight, no answer in time, or no workflow yet (a bulk row between its email and its start).
 */
const DECIDED = ['invitation-not-pending', 'temporal-unavailable', 'unavailable'] as const;

export const invitationPaths = {
  '/v1/invitations': {
    post: {
      operationId: 'createInvitation',
      tags: INVITATIONS,
      summary: 'Invite someone',
      description: 'The invitation is a durable workflow: its email, reminders and expiry run on their own. A member key invites as its own user; a server key may name any member as `inviter`.',
      security: apiKey,
      parameters: [idempotencyKeyParameter],
      requestBody: body(createInvitationBody),
      responses: {
        '201': {
          ...ok('Created (or, with a repeated Idempotency-Key, the first answer again); `acceptUrl` only when sendEmail is false', invitationWithLink, { ...location, ...replayed }),
          ...linksTo(['getInvitation', 'editInvitation', 'resendInvitation', 'revokeInvitation'], { id: '$response.body#/id' }),
        },
        ...problemResponses(
          ...JSON_BODY,
          'redirect-not-allowed',
          'unauthorized',
          'role-too-high',
          'forbidden',
          'missing-scope',
          'inviter-not-allowed',
          'invitations-disabled',
          'already-member',
          'open-invitation-exists',
          'idempotency-key-reused',
          ...KEYED_WRITE,
          'temporal-unavailable',
        ),
      },
    },
    get: {
      operationId: 'listInvitations',
      tags: INVITATIONS,
      summary: 'List invitations, newest first',
      security: apiKey,
      parameters: queryParameters(listInvitationsQuery),
      responses: {
        '200': ok('A page; follow nextCursor', z.object({ data: z.array(invitationView), nextCursor: z.string().nullable() })),
        ...problemResponses('invalid-request', 'unauthorized', 'missing-scope'),
      },
    },
  },
  '/v1/invitations/{id}': {
    get: {
      operationId: 'getInvitation',
      tags: INVITATIONS,
      summary: 'One invitation with its timeline',
      security: apiKey,
      parameters: [idParameter],
      responses: { '200': ok('The invitation', invitationWithTimeline), ...problemResponses('invalid-request', 'unauthorized', 'missing-scope', 'not-found') },
    },
    patch: {
      operationId: 'editInvitation',
      tags: INVITATIONS,
      summary: 'Edit a pending invitation in place (role, expiry, message); the timeline keeps what it was',
      security: apiKey,
      parameters: [idParameter],
      requestBody: { required: true, content: { 'application/json': { schema: { ...jsonSchema(editBody, 'input'), minProperties: 1 } } } },
      responses: {
        '200': ok('Edited', invitationView),
        ...problemResponses(...JSON_BODY, 'unauthorized', 'missing-scope', 'role-too-high', 'inviter-not-allowed', 'invitations-disabled', 'not-found', ...DECIDED, ...KEYED_WRITE),
      },
    },
  },
  '/v1/invitations/{id}/resend': {
    post: {
      operationId: 'resendInvitation',
      tags: INVITATIONS,
      summary: 'New link and email; the old link stops working',
      description: 'Limited per invitation by a cooldown, a daily and a lifetime count (429 with Retry-After).',
      security: apiKey,
      parameters: [idParameter],
      requestBody: optionalBody(resendBody),
      responses: {
        '200': ok('Resent; `acceptUrl` for a link-only invitation', invitationWithLink),
        ...problemResponses(...JSON_BODY, 'unauthorized', 'missing-scope', 'role-too-high', 'not-found', ...DECIDED, ...KEYED_WRITE),
      },
    },
  },
  '/v1/invitations/{id}/revoke': {
    post: {
      operationId: 'revokeInvitation',
      tags: INVITATIONS,
      summary: 'Withdraw a pending invitation',
      security: apiKey,
      parameters: [idParameter],
      requestBody: optionalBody(revokeBody),
      responses: {
        '200': ok('Revoked', invitationView),
        ...problemResponses(...JSON_BODY, 'unauthorized', 'missing-scope', 'not-found', ...DECIDED, ...KEYED_WRITE),
      },
    },
  },
  '/v1/invitations/lookup': {
    get: {
      operationId: 'lookUpInvitationLink',
      tags: INVITEE,
      summary: 'What an invitation link is for (invitee side, no API key); never consumes the token',
      parameters: [{ name: 'token', in: 'query', required: true, schema: jsonSchema(tokenBody.shape.token, 'input') }],
      responses: {
        '200': ok('The invitation as the invitee may see it', lookupView),
        ...problemResponses('invalid-request', 'token-not-found', 'token-gone'),
      },
    },
  },
  '/v1/invitations/accept': {
    post: {
      operationId: 'acceptInvitation',
      tags: INVITEE,
      summary: 'Accept with the link token (invitee side)',
      description:
        'Without `account`, no credential. With `account` (the product\'s signed-in account accepting), a server key of the invitation\'s tenant with invitations:write; the tenant\'s accept policy judges the account.',
      security: [{}, { apiKey: [] }],
      requestBody: body(acceptBody),
      responses: {
        '200': ok(
          'Accepted; send the invitee to redirectUrl',
          z.object({ invitationId: z.uuid(), status: z.literal('accepted'), redirectUrl: z.string().nullable() }),
        ),
        ...problemResponses(
          ...JSON_BODY,
          'unauthorized',
          'forbidden',
          'missing-scope',
          'wrong-account',
          'inviter-not-allowed',
          'invitations-disabled',
          'token-not-found',
          'token-gone',
          ...DECIDED,
          ...KEYED_WRITE,
        ),
      },
    },
  },
  '/v1/invitations/decline': {
    post: {
      operationId: 'declineInvitation',
      tags: INVITEE,
      summary: 'Decline with the link token (invitee side, no API key)',
      requestBody: body(tokenBody),
      responses: {
        '200': ok('Declined', z.object({ invitationId: z.uuid(), status: z.literal('declined') })),
        ...problemResponses(...JSON_BODY, 'token-not-found', 'token-gone', ...DECIDED, ...KEYED_WRITE),
      },
    },
  },
  '/invite/{token}': {
    parameters: [{ name: 'token', in: 'path', required: true, schema: tokenSchema }],
    get: {
      operationId: 'showAcceptPage',
      tags: INVITEE,
      summary: 'The HTML accept page an email links to; never consumes the token (link scanners open links too)',
      responses: { '200': page('The invitation, with Accept and Decline buttons'), ...htmlRefusals('token-not-found', 'token-gone', 'busy') },
    },
    post: {
      operationId: 'decideOnAcceptPage',
      tags: INVITEE,
      summary: 'The accept page\'s form: decision=accept (the default) or decline',
      requestBody: {
        required: false,
        content: {
          'application/x-www-form-urlencoded': {
            schema: { type: 'object', properties: { decision: { type: 'string', enum: ['accept', 'decline'] } } },
          },
        },
      },
      responses: {
        '200': page('Accepted or declined'),
        '303': {
          description: 'Accepted: on to the invitation\'s redirect URL or the tenant\'s home; or, where the tenant signs invitees in first, to its sign-in page',
          headers: { Location: { required: true, schema: { type: 'string' } } },
        },
        ...htmlRefusals(
          'invalid-request', 'wrong-account', 'inviter-not-allowed', 'invitations-disabled', 'token-not-found', 'invitation-not-pending', 'token-gone', 'payload-too-large',
          'temporal-unavailable', 'unavailable', 'busy',
        ),
      },
    },
  },
};
