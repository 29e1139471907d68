import { asKey, asManager, badId, body, idParameter, keyedWrite, linksTo, manage, noContent, ok, problem, tenantKey, write } from '../openapi-parts';
import { CONFLICT } from '../problems';
import { list } from '../schemas';
import { createRoleBody, roleView, updateRoleBody } from './schemas';

const ROLES = ['Roles'];

export const rolePaths = {
  '/v1/roles': {
    get: {
      operationId: 'listRoles',
      tags: ROLES,
      summary: 'The tenant\'s roles, highest rank first (any key of the tenant)',
      security: tenantKey,
      responses: { '200': ok('Roles', list(roleView)), ...problem(...asKey) },
    },
    post: {
      operationId: 'createRole',
      tags: ROLES,
      summary: 'Add a role',
      description: `${manage} The rank may not exceed the caller's.`,
      security: tenantKey,
      requestBody: body(createRoleBody),
      responses: {
        '201': { ...ok('Created', roleView, { Location: { required: true, schema: { type: 'string' } } }), ...linksTo(['getRole', 'updateRole', 'deleteRole'], { id: '$response.body#/id' }) },
        ...problem(...write, ...asManager, CONFLICT),
      },
    },
  },
  '/v1/roles/{id}': {
    get: {
      operationId: 'getRole',
      tags: ROLES,
      summary: 'One role (any key of the tenant)',
      security: tenantKey,
      parameters: [idParameter],
      responses: { '200': ok('The role', roleView), ...problem(...badId, ...asKey, 'not-found') },
    },
    patch: {
      operationId: 'updateRole',
      tags: ROLES,
      summary: 'Rename or re-rank a role; renaming the default role carries the default along',
      description: `${manage} 409 when the slug is taken or the change would take management from the members who have it.`,
      security: tenantKey,
      parameters: [idParameter],
      requestBody: body(updateRoleBody),
      responses: { '200': ok('The role', roleView), ...problem(...write, ...asManager, 'not-found', CONFLICT) },
    },
    delete: {
      operationId: 'deleteRole',
      tags: ROLES,
      summary: 'Delete a role nobody holds, no invitation names, and that is not the default',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...problem(...badId, ...keyedWrite, ...asManager, 'not-found', CONFLICT) },
    },
  },
};
