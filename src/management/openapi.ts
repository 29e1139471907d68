import { z } from 'zod';
import {
  apiKeyView,
  compatCredentialView,
  createApiKeyBody,
  createCompatCredentialBody,
  createdApiKeyView,
  createdTenantView,
  createRoleBody,
  createTenantBody,
  createUserBody,
  issuedCompatCredentialView,
  list,
  listTenantsQuery,
  listUsersQuery,
  membershipBody,
  operatorApiKeyBody,
  page,
  roleView,
  tenantView,
  updateRoleBody,
  updateTenantBody,
  updateUserBody,
  userView,
} from './schemas';
import { problems, type ProblemCode } from '../lib/errors';
import { CONFLICT, FORBIDDEN } from './problems';

/**
 * The management surface for /openapi.json, generated from the schemas that validate its requests. Merge into the
 * document: `securitySchemes` into components.securitySchemes, `paths` into paths. Problems point at
 * `#/components/schemas/Problem`, which the document already has.
 */
const json = (schema: z.ZodType, io: 'input' | 'output') => ({ 'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) } });
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema, 'output') });
const body = (schema: z.ZodType) => ({ required: true, content: json(schema, 'input') });
const noContent = { description: 'Done; no body' };
const problem = (...codes: ProblemCode[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(problems[code].status),
      { description: `${problems[code].title} (urn:usher:problem:${code})`, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  );
const queryParameters = (schema: z.ZodType) =>
  Object.entries((z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, object> }).properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

const operator = [{ adminToken: [] }];
const tenantKey = [{ apiKey: [] }];
const manage = 'Needs a key whose user holds the tenant\'s highest-ranked role (owner).';
const asKey = problem('unauthorized');
const asManager = problem('unauthorized', FORBIDDEN);
const write = problem('invalid-request', 'malformed-json', 'unsupported-media-type', 'payload-too-large');

export const managementSecuritySchemes = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token (USHER_ADMIN_TOKEN). Without it configured, /v1/tenants answers 404.' },
};

export const managementPaths = {
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
  '/v1/roles': {
    get: { summary: 'The tenant\'s roles, highest rank first (any key of the tenant)', security: tenantKey, responses: { '200': ok('Roles', list(roleView)), ...asKey } },
    post: {
      summary: 'Add a role',
      description: `${manage} The rank may not exceed the caller's.`,
      security: tenantKey,
      requestBody: body(createRoleBody),
      responses: { '201': ok('Created', roleView), ...write, ...asManager, ...problem(CONFLICT) },
    },
  },
  '/v1/roles/{id}': {
    get: { summary: 'One role (any key of the tenant)', security: tenantKey, parameters: [idParameter], responses: { '200': ok('The role', roleView), ...asKey, ...problem('not-found') } },
    patch: {
      summary: 'Rename or re-rank a role; renaming the default role carries the default along',
      description: `${manage} 409 when the slug is taken or the change would take management from the members who have it.`,
      security: tenantKey,
      parameters: [idParameter],
      requestBody: body(updateRoleBody),
      responses: { '200': ok('The role', roleView), ...write, ...asManager, ...problem('not-found', CONFLICT) },
    },
    delete: {
      summary: 'Delete a role nobody holds, no invitation names, and that is not the default',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...asManager, ...problem('invalid-request', 'not-found', CONFLICT) },
    },
  },
  '/v1/users': {
    get: {
      summary: 'The tenant\'s users with their role, newest first',
      description: manage,
      security: tenantKey,
      parameters: queryParameters(listUsersQuery),
      responses: { '200': ok('A page', page(userView)), ...asManager, ...problem('invalid-request') },
    },
    post: {
      summary: 'Add a user (not yet a member); email unique in the tenant',
      description: manage,
      security: tenantKey,
      requestBody: body(createUserBody),
      responses: { '201': ok('Created', userView), ...write, ...asManager, ...problem(CONFLICT) },
    },
  },
  '/v1/users/{id}': {
    get: { summary: 'One user', description: manage, security: tenantKey, parameters: [idParameter], responses: { '200': ok('The user', userView), ...asManager, ...problem('not-found') } },
    patch: {
      summary: 'Change names or externalId',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      requestBody: body(updateUserBody),
      responses: { '200': ok('The user', userView), ...write, ...asManager, ...problem('not-found', CONFLICT) },
    },
  },
  '/v1/users/{id}/membership': {
    put: {
      summary: 'Make the user a member with this role (201), or change their role (200)',
      description: `${manage} 409 when it would leave nobody holding the top role.`,
      security: tenantKey,
      parameters: [idParameter],
      requestBody: body(membershipBody),
      responses: { '200': ok('Role changed', userView), '201': ok('Now a member', userView), ...write, ...asManager, ...problem('not-found', CONFLICT) },
    },
    delete: {
      summary: 'End the membership (the user and their keys stay, without rights)',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...asManager, ...problem('invalid-request', 'not-found', CONFLICT) },
    },
  },
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
