import { asManager, badId, body, idParameter, keyedWrite, linksTo, manage, noContent, ok, problem, tenantKey, write } from '../openapi-parts';
import { list } from '../schemas';
import { compatCredentialView, createCompatCredentialBody, issuedCompatCredentialView } from './schemas';

const CREDENTIALS = ['Seed API credentials'];

export const compatCredentialPaths = {
  '/v1/compat-credentials': {
    get: {
      operationId: 'listCompatCredentials',
      tags: CREDENTIALS,
      summary: 'Credentials of the seed APIs, without secrets',
      description: manage,
      security: tenantKey,
      responses: { '200': ok('Credentials', list(compatCredentialView)), ...problem(...asManager) },
    },
    post: {
      operationId: 'issueCompatCredential',
      tags: CREDENTIALS,
      summary: 'Issue a seed API credential (Mendix environment password, Quickbase user or app token, SAP client, Akana session); secrets returned once',
      description: manage,
      security: tenantKey,
      requestBody: body(createCompatCredentialBody),
      responses: {
        '201': {
          ...linksTo(['revokeCompatCredential'], { id: '$response.body#/id' }),
          ...ok('Issued', issuedCompatCredentialView, {
          Location: { required: true, schema: { type: 'string' } },
          'Cache-Control': { description: 'no-store: the body holds a secret', required: true, schema: { type: 'string', const: 'no-store' } },
          }),
        },
        ...problem(...write, ...asManager),
      },
    },
  },
  '/v1/compat-credentials/{id}': {
    delete: {
      operationId: 'revokeCompatCredential',
      tags: CREDENTIALS,
      summary: 'Revoke a seed API credential. Repeating is harmless',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...problem(...badId, ...keyedWrite, ...asManager, 'not-found') },
    },
  },
};
