import { z } from 'zod';
import { emailAddress } from '../lib/email-address';
import { type ProblemCode, problems } from '../lib/errors';
import { problemSchema, problemType } from './problem';

/**
 * The pieces every feature's OpenAPI paths are built from. Request and response schemas are generated from the zod
 * schemas that validate and shape them, so the document and the code cannot drift; where zod checks something JSON
 * Schema cannot see (a refinement, a trim), `jsonSchema` says it in JSON Schema's own words.
 */

export type JsonSchema = Record<string, unknown>;

/**
 * An absolute http(s) URL as a JSON Schema pattern, for schemas whose refinement JSON Schema cannot see: everything it
 * matches, the WHATWG URL parser reads as http(s). Host labels have no `--` (no punycode that may not decode) and the
 * last starts with a letter (no IPv4 look-alike the parser would rewrite).
 */
export const HTTP_URL_PATTERN =
  "^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?::[0-9]{1,4})?(?:[/?#][A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*)?$";

export type Responses = Record<string, unknown>;

/** A JSON Schema pattern: contains a character JavaScript's `trim()` keeps (ECMAScript WhiteSpace and LineTerminator aside). */
const NOT_ONLY_WHITESPACE = '[^\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';

/** The zod schema as JSON Schema 2020-12, as requests must be (`input`) or as responses are (`output`). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const generated = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema: out }) => {
      const target = out as JsonSchema;
      if ((zodSchema as unknown) === emailAddress) {
        // A refinement piped into z.email(): JSON Schema sees only the string; the address pattern is zod's own.
        Object.assign(target, { type: 'string', maxLength: 254, pattern: z.regexes.email.source });
        return;
      }
      const def = (zodSchema as { _zod?: { def?: { type?: string; checks?: unknown[] } } })._zod?.def;
      if (io === 'input' && def?.type === 'string' && typeof target.minLength === 'number' && target.minLength > 0 && trims(zodSchema as unknown as z.ZodType)) {
        // `.trim().min(n)`: blanks are refused after trimming, so the raw text must hold something else.
        target.pattern ??= NOT_ONLY_WHITESPACE;
      }
    },
  }) as JsonSchema;
  delete generated.$schema;
  return generated;
}

/** Whether a string schema trims its input (zod records `.trim()` only as an opaque overwrite). */
function trims(schema: z.ZodType): boolean {
  const parsed = schema.safeParse(' a ');
  return parsed.success && parsed.data === 'a';
}

export const json = (schema: z.ZodType, io: 'input' | 'output') => ({ 'application/json': { schema: jsonSchema(schema, io) } });
export const ok = (description: string, schema: z.ZodType, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: json(schema, 'output'),
});
/**
 * OpenAPI links from a response to the operations that take what it returned, e.g. a created resource's id into
 * `{id}`: clients (and the stateful fuzzer) follow them.
 */
export function linksTo(operationIds: string[], parameters: Record<string, string>): { links: Record<string, unknown> } {
  return { links: Object.fromEntries(operationIds.map((operationId) => [operationId, { operationId, parameters }])) };
}
export const body = (schema: z.ZodType) => ({ required: true, content: json(schema, 'input') });
export const optionalBody = (schema: z.ZodType) => ({ required: false, content: json(schema, 'input') });
export const noContent = { description: 'Done; no body' };

/** Query parameters from a strict zod object, each optional unless the schema requires it. */
export function queryParameters(schema: z.ZodType): object[] {
  const generated = jsonSchema(schema, 'input') as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(generated.properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: 'query', required: generated.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
}

export const uuidParameter = (name: string, description?: string) => ({
  name,
  in: 'path',
  required: true,
  ...(description ? { description } : {}),
  schema: { type: 'string', format: 'uuid' },
});
export const idParameter = uuidParameter('id');

/** Send when retrying a create: a repeat with the same key and body answers as the first did. */
export const idempotencyKeyParameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'A repeat with the same key and the same body answers as the first request did (Idempotent-Replayed: true)',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
};

// ---------------------------------------------------------------------------------------------------------------
// Problems

export const PROBLEM = '#/components/schemas/Problem';

/** Members some refusals add to the problem body (RFC 9457 extension members). */
const problemDocument = problemSchema.extend({
  type: z.enum(Object.keys(problems).map(problemType) as [string, ...string[]]),
  status: z.number().int().min(400).max(599),
  requestId: z.string().describe('Repeated in the X-Request-Id header and the log line of this request'),
  errors: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('invalid-request: each field at fault, `(body)` for the body as a whole'),
  field: z.string().optional().describe('The one field at fault'),
  scope: z.string().optional().describe('missing-scope: the scope the key lacks'),
  invitationId: z.uuid().optional().describe('open-invitation-exists, idempotency-key-reused: the invitation in the way'),
  retryAfter: z.number().int().min(0).optional().describe('rate-limited: seconds until a retry may succeed (also the Retry-After header)'),
  allow: z.array(z.string()).optional().describe('method-not-allowed: the methods this path answers (also the Allow header)'),
  members: z.number().int().optional().describe('conflict, deleting a role: the members who hold it'),
  invitations: z.number().int().optional().describe('conflict, deleting a role: the invitations that name it'),
});

/** The components entry `#/components/schemas/Problem` points at. */
export const problemComponent = jsonSchema(problemDocument, 'output');

const headerSchemas = {
  'WWW-Authenticate': { description: 'The credential to send', required: true, schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying', required: false, schema: { type: 'integer', minimum: 0 } },
} as const;

/**
 * The responses for these refusals, one per status: every problem with that status this operation can answer, its
 * `type` and `status` pinned, so an answer the document does not list is a finding.
 */
export function problemResponses(...codes: ProblemCode[]): Responses {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set(codes)) {
    const { status } = problems[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list.map((code) => `${problems[code].title} (${problemType(code)})`).join('; '),
        ...responseHeaders(status),
        content: { 'application/problem+json': { schema: pinnedProblem(list.map(problemType), status) } },
      },
    ]),
  );
}

/** `responses` and one more problem, joined to the response its status already has (a second 503, say). */
export function withProblem(responses: Responses, code: ProblemCode): Responses {
  const status = String(problems[code].status);
  const added = problemResponses(code)[status] as ProblemResponse;
  const existing = responses[status] as ProblemResponse | undefined;
  if (!existing) return { ...responses, [status]: added };
  const problem = existing.content?.['application/problem+json']?.schema.allOf;
  const types = problem ? [...problem[1].properties.type.enum, problemType(code)] : [problemType(code)];
  return {
    ...responses,
    [status]: {
      ...added,
      ...existing,
      description: `${existing.description}; ${added.description}`,
      content: { ...existing.content, 'application/problem+json': { schema: pinnedProblem(types, Number(status)) } },
    },
  };
}

/** The Problem schema with the `type`s and the status one response can carry. */
const pinnedProblem = (types: string[], status: number) => ({ allOf: [{ $ref: PROBLEM }, { properties: { type: { enum: types }, status: { const: status } } }] });

interface ProblemResponse {
  description: string;
  content?: Record<string, { schema: { allOf: [unknown, { properties: { type: { enum: string[] } } }] } }>;
}

function responseHeaders(status: number): { headers?: Record<string, unknown> } {
  if (status === 401) return { headers: { 'WWW-Authenticate': headerSchemas['WWW-Authenticate'] } };
  if (status === 429 || status === 503) return { headers: { 'Retry-After': headerSchemas['Retry-After'] } };
  return {};
}

/** What any JSON body can be refused for before its content is looked at. */
export const JSON_BODY: ProblemCode[] = ['invalid-request', 'malformed-json', 'unsupported-media-type', 'payload-too-large'];
/** Writes under /v1 made with an API key: the per-key write limit. */
export const KEYED_WRITE: ProblemCode[] = ['rate-limited'];
