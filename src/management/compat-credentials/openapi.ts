import { asManager, body, idParameter, manage, noContent, ok, problem, tenantKey, write } from '../openapi-parts';
import { list } from '../schemas';
import { compatCredentialView, createCompatCredentialBody, issuedCompatCredentialView } from './schemas';

export const compatCredentialPaths = {
  '/v1/compat-credentials': {
    get: {
      summary: 'Credentials of the seed APIs, without secrets',
      description: manage,
      security: tenantKey,
      responses: { '200': ok('Credentials', list(compatCredentialView)), ...asManager },
    },
    post: {
      summary: 'Issue a seed API credential (Mendix environment password, Quickbase user or app token, SAP client, Akana session); secrets returned once',
      description: manage,
      security: tenantKey,
      requestBody: body(createCompatCredentialBody),
      responses: { '201': ok('Issued', issuedCompatCredentialView), ...write, ...asManager },
    },
  },
  '/v1/compat-credentials/{id}': {
    delete: {
      summary: 'Revoke a seed API credential. Repeating is harmless',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...asManager, ...problem('invalid-request', 'not-found') },
    },
  },
};
