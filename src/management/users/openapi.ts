import { asManager, badId, body, idParameter, keyedWrite, linksTo, manage, noContent, ok, problem, queryParameters, tenantKey, write } from '../openapi-parts';
import { CONFLICT } from '../problems';
import { page } from '../schemas';
import { createUserBody, listUsersQuery, membershipBody, updateUserBody, userView } from './schemas';

const USERS = ['Users'];
const location = { Location: { required: true, schema: { type: 'string' } } };

export const userPaths = {
  '/v1/users': {
    get: {
      operationId: 'listUsers',
      tags: USERS,
      summary: 'The tenant\'s users with their role, newest first',
      description: manage,
      security: tenantKey,
      parameters: queryParameters(listUsersQuery),
      responses: { '200': ok('A page', page(userView)), ...problem(...asManager, 'invalid-request') },
    },
    post: {
      operationId: 'createUser',
      tags: USERS,
      summary: 'Add a user (not yet a member); email unique in the tenant',
      description: manage,
      security: tenantKey,
      requestBody: body(createUserBody),
      responses: {
        '201': { ...ok('Created', userView, location), ...linksTo(['getUser', 'updateUser', 'setMembership'], { id: '$response.body#/id' }) },
        ...problem(...write, ...asManager, CONFLICT),
      },
    },
  },
  '/v1/users/{id}': {
    get: {
      operationId: 'getUser',
      tags: USERS,
      summary: 'One user',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '200': ok('The user', userView), ...problem(...badId, ...asManager, 'not-found') },
    },
    patch: {
      operationId: 'updateUser',
      tags: USERS,
      summary: 'Change names or externalId',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      requestBody: body(updateUserBody),
      responses: { '200': ok('The user', userView), ...problem(...write, ...asManager, 'not-found', CONFLICT) },
    },
  },
  '/v1/users/{id}/membership': {
    put: {
      operationId: 'setMembership',
      tags: USERS,
      summary: 'Make the user a member with this role (201), or change their role (200)',
      description: `${manage} 409 when it would leave nobody holding the top role.`,
      security: tenantKey,
      parameters: [idParameter],
      requestBody: body(membershipBody),
      responses: { '200': ok('Role changed', userView), '201': ok('Now a member', userView), ...problem(...write, ...asManager, 'not-found', CONFLICT) },
    },
    delete: {
      operationId: 'removeMembership',
      tags: USERS,
      summary: 'End the membership (the user and their keys stay, without rights)',
      description: manage,
      security: tenantKey,
      parameters: [idParameter],
      responses: { '204': noContent, ...problem(...badId, ...keyedWrite, ...asManager, 'not-found', CONFLICT) },
    },
  },
};
