import { describe, expect, it } from 'vitest';
import { managementPaths } from '../../src/management/openapi';
import { call, useManagementApi } from '../support/management-api';

useManagementApi();

describe('the OpenAPI fragment', () => {
  it('documents exactly the routes that answer, each behind its credential', async () => {
    const documented: string[] = [];
    for (const [path, methods] of Object.entries(managementPaths)) {
      for (const [method, operation] of Object.entries(methods)) {
        documented.push(`${method.toUpperCase()} ${path}`);
        const url = path.replace('{id}', '0190a0b2-0000-7000-8000-000000000000');
        // Without a credential every documented route answers 401, never "no route" (404) or 405.
        const response = await call(url, { method: method.toUpperCase(), auth: null, ...(method === 'get' || method === 'delete' ? {} : { json: {} }) });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect((operation as { security: { adminToken?: [] }[] }).security[0]!.adminToken !== undefined).toBe(path.startsWith('/v1/tenants'));
      }
    }
    expect(documented).toHaveLength(23);
    expect(JSON.stringify(managementPaths)).toContain('#/components/schemas/Problem');
  });
});
