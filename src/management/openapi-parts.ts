import { z } from 'zod';
import { problems, type ProblemCode } from '../lib/errors';
import { FORBIDDEN } from './problems';

/**
 * The pieces every resource's OpenAPI paths are built from, generated from the schemas that validate requests.
 * Problems point at `#/components/schemas/Problem`, which the document already has.
 */
const json = (schema: z.ZodType, io: 'input' | 'output') => ({ 'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) } });
export const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema, 'output') });
export const body = (schema: z.ZodType) => ({ required: true, content: json(schema, 'input') });
export const noContent = { description: 'Done; no body' };
export const problem = (...codes: ProblemCode[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(problems[code].status),
      { description: `${problems[code].title} (urn:usher:problem:${code})`, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  );
export const queryParameters = (schema: z.ZodType) =>
  Object.entries((z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, object> }).properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
export const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

export const operator = [{ adminToken: [] }];
export const tenantKey = [{ apiKey: [] }];
export const manage = 'Needs a key whose user holds the tenant\'s highest-ranked role (owner).';
export const asKey = problem('unauthorized');
export const asManager = problem('unauthorized', FORBIDDEN);
export const write = problem('invalid-request', 'malformed-json', 'unsupported-media-type', 'payload-too-large');
