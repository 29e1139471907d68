import { asKey, asManager, body, idParameter, manage, noContent, ok, problem, tenantKey, write } from '../openapi-parts';
import { CONFLICT } from '../problems';
import { list } from '../schemas';
import { createRoleBody, roleView, updateRoleBody } from './schemas';

export const rolePaths = {
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
};
