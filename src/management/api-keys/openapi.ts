import { asManager, badId, body, idParameter, keyedWrite, linksTo, manage, noContent, ok, problem, tenantKey, write } from '../openapi-parts';
import { list } from '../schemas';
import { apiKeyView, createApiKeyBody, createdApiKeyView } from './schemas';

const KEYS = ['API keys'];
const issued = {
  Location: { required: true, schema: { type: 'string' } },
  'Cache-Control': { description: 'no-store: the body holds a secret', required: true, schema: { type: 'string', const: 'no-store' } },
};

export const apiKeyPaths = {
  '/v1/api-keys': {
    get: {
      operationId: 'listApiKeys',
      tags: KEYS,
      summary: 'The tenant\'s API keys, never their secrets',
      description: manage,
      security: tenantKey,
      responses: { '200': ok('Keys', list(apiKeyView)), ...problem(...asManager) },
    },
    post: {
      operationId: 'createApiKey',
      tags: KEYS,
      summary: 'A new key for a user of the tenant (default: the caller\'s user); the secret is returned once',
      description: manage,
      security: tenantKey,
      requestBody: body(createApiKeyBody),
      responses: { '201': { ...ok('Created', createdApiKeyView, issued), ...linksTo(['revokeApiKey'], { id: '$response.body#/id' }) }, ...problem(...write, ...asManager) },
    },
  },
  '/v1/api-keys/{id}': {
    delete: {
      operationId: 'revokeApiKey',
      tags: KEYS,
      summary: 'Revoke a key: 401 from its next request on. Repeating is harmless',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...problem(...badId, ...keyedWrite, ...asManager, 'not-found') },
    },
  },
};
