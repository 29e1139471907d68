import { asManager, body, idParameter, manage, noContent, ok, problem, tenantKey, write } from '../openapi-parts';
import { list } from '../schemas';
import { apiKeyView, createApiKeyBody, createdApiKeyView } from './schemas';

export const apiKeyPaths = {
  '/v1/api-keys': {
    get: { summary: 'The tenant\'s API keys, never their secrets', description: manage, security: tenantKey, responses: { '200': ok('Keys', list(apiKeyView)), ...asManager } },
    post: {
      summary: 'A new key for a user of the tenant (default: the caller\'s user); the secret is returned once',
      description: manage,
      security: tenantKey,
      requestBody: body(createApiKeyBody),
      responses: { '201': ok('Created', createdApiKeyView), ...write, ...asManager },
    },
  },
  '/v1/api-keys/{id}': {
    delete: {
      summary: 'Revoke a key: 401 from its next request on. Repeating is harmless',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...asManager, ...problem('invalid-request', 'not-found') },
    },
  },
};
