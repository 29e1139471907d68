import { createdApiKeyView, operatorApiKeyBody } from '../api-keys/schemas';
import { asKey, asManager, badId, body, idParameter, linksTo, manage, ok, operator, problem, queryParameters, tenantKey, write } from '../openapi-parts';
import { CONFLICT } from '../problems';
import { page } from '../schemas';
import { createdTenantView, createTenantBody, listTenantsQuery, tenantView, updateTenantBody } from './schemas';

const OPERATORS = ['Operators'];
const TENANT = ['Tenant'];
const secretOnce = { 'Cache-Control': { description: 'no-store: the body holds a secret', required: true, schema: { type: 'string', const: 'no-store' } } };
const location = { Location: { required: true, schema: { type: 'string' } } };

export const tenantPaths = {
  '/v1/tenants': {
    post: {
      operationId: 'createTenant',
      tags: OPERATORS,
      summary: 'Create a tenant with its roles, owner and the owner\'s first API key (returned once)',
      security: operator,
      requestBody: body(createTenantBody),
      responses: {
        '201': { ...ok('Created', createdTenantView, { ...location, ...secretOnce }), ...linksTo(['getTenant', 'recoverApiKey'], { id: '$response.body#/tenant/id' }) },
        ...problem(...write, 'unauthorized', 'not-found', CONFLICT),
      },
    },
    get: {
      operationId: 'listTenants',
      tags: OPERATORS,
      summary: 'List tenants, newest first',
      security: operator,
      parameters: queryParameters(listTenantsQuery),
      responses: { '200': ok('A page', page(tenantView)), ...problem('invalid-request', 'unauthorized', 'not-found') },
    },
  },
  '/v1/tenants/{id}': {
    get: {
      operationId: 'getTenant',
      tags: OPERATORS,
      summary: 'One tenant',
      security: operator,
      parameters: [idParameter],
      responses: { '200': ok('The tenant', tenantView), ...problem(...badId, 'unauthorized', 'not-found') },
    },
  },
  '/v1/tenants/{id}/api-keys': {
    post: {
      operationId: 'recoverApiKey',
      tags: OPERATORS,
      summary: 'Recovery: an API key for a user of the tenant, by email or id (secret returned once)',
      security: operator,
      parameters: [idParameter],
      requestBody: body(operatorApiKeyBody),
      responses: { '201': ok('Created', createdApiKeyView, { ...location, ...secretOnce }), ...problem(...write, 'unauthorized', 'not-found') },
    },
  },
  '/v1/tenant': {
    get: {
      operationId: 'getOwnTenant',
      tags: TENANT,
      summary: 'The calling key\'s tenant and its settings (any key of the tenant)',
      security: tenantKey,
      responses: { '200': ok('The tenant', tenantView), ...problem(...asKey) },
    },
    patch: {
      operationId: 'updateOwnTenant',
      tags: TENANT,
      summary: 'Change settings; the result is checked as a whole (reminders below the TTL, default role exists)',
      description: `${manage} royaltiJwtKey is write-only.`,
      security: tenantKey,
      requestBody: body(updateTenantBody),
      responses: { '200': ok('The tenant', tenantView), ...problem(...write, ...asManager, CONFLICT) },
    },
  },
};
