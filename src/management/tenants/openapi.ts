import { createdApiKeyView, operatorApiKeyBody } from '../api-keys/schemas';
import { asKey, asManager, body, idParameter, manage, ok, operator, problem, queryParameters, tenantKey, write } from '../openapi-parts';
import { CONFLICT } from '../problems';
import { page } from '../schemas';
import { createdTenantView, createTenantBody, listTenantsQuery, tenantView, updateTenantBody } from './schemas';

export const tenantPaths = {
  '/v1/tenants': {
    post: {
      summary: 'Create a tenant with its roles, owner and the owner\'s first API key (returned once)',
      security: operator,
      requestBody: body(createTenantBody),
      responses: { '201': ok('Created', createdTenantView), ...write, ...problem('unauthorized', 'not-found', CONFLICT) },
    },
    get: {
      summary: 'List tenants, newest first',
      security: operator,
      parameters: queryParameters(listTenantsQuery),
      responses: { '200': ok('A page', page(tenantView)), ...problem('invalid-request', 'unauthorized', 'not-found') },
    },
  },
  '/v1/tenants/{id}': {
    get: { summary: 'One tenant', security: operator, parameters: [idParameter], responses: { '200': ok('The tenant', tenantView), ...problem('invalid-request', 'unauthorized', 'not-found') } },
  },
  '/v1/tenants/{id}/api-keys': {
    post: {
      summary: 'Recovery: an API key for a user of the tenant, by email or id (secret returned once)',
      security: operator,
      parameters: [idParameter],
      requestBody: body(operatorApiKeyBody),
      responses: { '201': ok('Created', createdApiKeyView), ...write, ...problem('unauthorized', 'not-found') },
    },
  },
  '/v1/tenant': {
    get: { summary: 'The calling key\'s tenant and its settings (any key of the tenant)', security: tenantKey, responses: { '200': ok('The tenant', tenantView), ...asKey } },
    patch: {
      summary: 'Change settings; the result is checked as a whole (reminders below the TTL, default role exists)',
      description: `${manage} royaltiJwtKey is write-only.`,
      security: tenantKey,
      requestBody: body(updateTenantBody),
      responses: { '200': ok('The tenant', tenantView), ...write, ...asManager, ...problem(CONFLICT) },
    },
  },
};
