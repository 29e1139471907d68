import type { z } from 'zod';
import { body as jsonBody, HTTP_URL_PATTERN, idParameter, linksTo, JSON_BODY, KEYED_WRITE, noContent, ok, optionalBody, problemResponses, queryParameters } from '../http/openapi';
import { webhookEventTypes } from './events';
import {
  attemptView,
  createEndpointBody,
  deliveriesQuery,
  endpointView,
  endpointWithSecretView,
  page,
  pageQuery,
  redeliveryView,
  rotateSecretBody,
  updateEndpointBody,
} from './schemas';

/** The webhook endpoints' part of /openapi.json, generated from the schemas that validate the requests. */

/**
 * A request body whose `url` says in JSON Schema what the service checks: an absolute http(s) URL. Whether its target
 * is allowed (https only, no private addresses, unless the settings say otherwise; a host that resolves) is decided
 * when it is sent, and refused with 400.
 */
function body(schema: z.ZodType) {
  const request = jsonBody(schema);
  const properties = (request.content['application/json'].schema as { properties?: Record<string, Record<string, unknown>> }).properties;
  if (properties?.url) properties.url = { ...properties.url, pattern: HTTP_URL_PATTERN };
  return request;
}

const eventIdParameter = { name: 'eventId', in: 'path', required: true, schema: { type: 'string', pattern: '^evt_[0-9a-f]{32}$' } };
const security = [{ apiKey: [] }];
const description = `Needs a key with the management scope whose user holds the tenant's highest-ranked role (owner). Event types: ${webhookEventTypes.join(', ')}. Payloads, signatures and retries: docs/webhooks.md.`;
const asManager = ['unauthorized', 'forbidden', 'missing-scope'] as const;

export const webhookPaths = {
  '/v1/webhook-endpoints': {
    post: {
      operationId: 'createWebhookEndpoint',
      summary: 'A new webhook endpoint; its signing secret (whsec_…) is in this answer only',
      description,
      security,
      requestBody: body(createEndpointBody),
      responses: {
        '201': {
          ...ok('Created, with the secret', endpointWithSecretView),
          ...linksTo(['getWebhookEndpoint', 'updateWebhookEndpoint', 'rotateWebhookSecret', 'listWebhookDeliveries', 'deleteWebhookEndpoint'], { id: '$response.body#/id' }),
        }, ...problemResponses(...JSON_BODY, ...KEYED_WRITE, ...asManager, 'conflict') },
    },
    get: {
      operationId: 'listWebhookEndpoints',
      summary: "The tenant's webhook endpoints, newest first, never their secrets",
      description,
      security,
      parameters: queryParameters(pageQuery),
      responses: { '200': ok('A page', page(endpointView)), ...problemResponses('invalid-request', ...asManager) },
    },
  },
  '/v1/webhook-endpoints/{id}': {
    get: {
      operationId: 'getWebhookEndpoint',
      summary: 'One endpoint, with its health',
      description,
      security,
      parameters: [idParameter],
      responses: { '200': ok('The endpoint', endpointView), ...problemResponses('invalid-request', ...asManager, 'not-found') },
    },
    patch: {
      operationId: 'updateWebhookEndpoint',
      summary: 'Change the URL, event filter or description, or switch it off and on (on again: a fresh start)',
      description,
      security,
      parameters: [idParameter],
      requestBody: body(updateEndpointBody),
      responses: { '200': ok('Changed', endpointView), ...problemResponses(...JSON_BODY, ...KEYED_WRITE, ...asManager, 'not-found') },
    },
    delete: {
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete an endpoint; its deliveries in flight stop',
      description,
      security,
      parameters: [idParameter],
      responses: { '204': noContent, ...problemResponses('invalid-request', ...KEYED_WRITE, ...asManager, 'not-found') },
    },
  },
  '/v1/webhook-endpoints/{id}/rotate-secret': {
    post: {
      operationId: 'rotateWebhookSecret',
      summary: 'A new secret, shown in this answer only; the old one keeps signing alongside it for the grace period (default 24 h)',
      description,
      security,
      parameters: [idParameter],
      requestBody: optionalBody(rotateSecretBody),
      responses: { '200': ok('Rotated, with the new secret', endpointWithSecretView), ...problemResponses(...JSON_BODY, ...KEYED_WRITE, ...asManager, 'not-found') },
    },
  },
  '/v1/webhook-endpoints/{id}/deliveries': {
    get: {
      operationId: 'listWebhookDeliveries',
      summary: 'The delivery log: every attempt (time, status code, latency, error, first 1 KiB of the answer), newest first',
      description,
      security,
      parameters: [idParameter, ...queryParameters(deliveriesQuery)],
      responses: { '200': ok('A page of attempts', page(attemptView)), ...problemResponses('invalid-request', ...asManager, 'not-found') },
    },
  },
  '/v1/webhook-endpoints/{id}/events/{eventId}/redeliver': {
    post: {
      operationId: 'redeliverWebhookEvent',
      summary: 'Deliver an event to this endpoint once more: the same webhook-id and body, a new run in the log',
      description,
      security,
      parameters: [idParameter, eventIdParameter],
      responses: { '202': ok('Queued; the worker starts it within a poll', redeliveryView), ...problemResponses('invalid-request', ...KEYED_WRITE, ...asManager, 'not-found', 'conflict') },
    },
  },
};
