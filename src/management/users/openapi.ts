import { asManager, body, idParameter, manage, noContent, ok, problem, queryParameters, tenantKey, write } from '../openapi-parts';
import { CONFLICT } from '../problems';
import { page } from '../schemas';
import { createUserBody, listUsersQuery, membershipBody, updateUserBody, userView } from './schemas';

export const userPaths = {
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
};
