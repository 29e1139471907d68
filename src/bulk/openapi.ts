import { z } from 'zod';
import { idempotencyKeyParameter, idParameter, linksTo, JSON_BODY, jsonSchema, KEYED_WRITE, ok, problemResponses, queryParameters } from '../http/openapi';
import { batchRowsQuery, bulkCsvQuery, bulkJsonBody } from './schemas';

/** Bulk invitations: the upload (JSON or CSV) and the batch it makes. */

const apiKey = [{ apiKey: [] }];
const BULK = ['Bulk invitations'];

const COLUMNS = ['email', 'role', 'first_name', 'firstname', 'last_name', 'lastname', 'message'];
const column = `[ \\t]*(?:${COLUMNS.join('|')})[ \\t]*`;
/**
 * What the CSV reader accepts, as a pattern: a header row of known columns, email among them, then at least one
 * record. Values are the rows' own business: a bad one is reported on its row, never refuses the upload.
 */
const csvPattern = `^\\uFEFF?(?:${column},)*[ \\t]*email[ \\t]*(?:,${column})*\\r?\\n(?:[^"\\r\\n]*\\r?\\n)*[^"\\r\\n]+(?:\\r?\\n[^"\\r\\n]*)*$`;

const rowResult = z.enum(['pending', 'created', 'duplicate', 'invalid', 'already-member', 'failed']);

const batchView = z.object({
  id: z.uuid(),
  status: z.enum(['running', 'completed']),
  total: z.number().int(),
  processed: z.number().int(),
  counts: z.object({ created: z.number().int(), duplicate: z.number().int(), invalid: z.number().int(), alreadyMember: z.number().int(), failed: z.number().int() }),
  createdAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
  rows: z.array(
    z.object({
      row: z.number().int().min(1),
      email: z.string().nullable(),
      result: rowResult,
      reason: z.string().nullable().describe('invalid, failed: why'),
      invitationId: z.uuid().nullable(),
    }),
  ),
  nextRowsAfter: z.number().int().nullable().describe('Pass as `after` for the next page of rows; null on the last'),
});

export const bulkPaths = {
  '/v1/invitations/bulk': {
    post: {
      operationId: 'createInvitationBatch',
      tags: BULK,
      summary: 'Invite many at once: a JSON list, or text/csv with columns email, role, first_name, last_name, message (≤ 10,000 rows)',
      description: 'Each row is checked and invited on its own by a durable workflow; a bad row is reported on the batch, never emailed.',
      security: apiKey,
      parameters: [
        idempotencyKeyParameter,
        ...queryParameters(bulkCsvQuery).map((p) => ({ ...p, description: 'For CSV uploads (a JSON body says it in the body); checked for every upload' })),
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: jsonSchema(bulkJsonBody, 'input') },
          'text/csv': { schema: { type: 'string', pattern: csvPattern } },
        },
      },
      responses: {
        '202': {
          ...ok(
            'Accepted: the rows run as durable work; follow statusUrl',
            z.object({ id: z.uuid(), status: z.literal('running'), total: z.number().int(), statusUrl: z.string() }),
            {
              Location: { description: 'The batch: /v1/invitation-batches/{id}', required: true, schema: { type: 'string' } },
              'Idempotent-Replayed': { required: false, schema: { type: 'string', enum: ['true'] } },
            },
          ),
          ...linksTo(['getInvitationBatch'], { id: '$response.body#/id' }),
        },
        ...problemResponses(...JSON_BODY, 'unauthorized', 'missing-scope', ...KEYED_WRITE, 'temporal-unavailable'),
      },
    },
  },
  '/v1/invitation-batches/{id}': {
    get: {
      operationId: 'getInvitationBatch',
      tags: BULK,
      summary: 'Progress and per-row results of a bulk upload (created, duplicate, invalid with the reason, already-member)',
      security: apiKey,
      parameters: [idParameter, ...queryParameters(batchRowsQuery)],
      responses: {
        '200': ok('The batch with a page of rows; follow nextRowsAfter', batchView),
        ...problemResponses('invalid-request', 'unauthorized', 'missing-scope', 'not-found'),
      },
    },
  },
};
