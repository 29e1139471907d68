import Router from '@koa/router';
import { batchCounts, findBatch, listBatchRows } from '../db/batches';
import { UsherError } from '../lib/errors';
import { createBatch } from './create-batch';
import { rowsFromCsv } from './csv';
import { type ApiKeyState, keyActor, requireApiKey, requireInvitationScope } from '../http/auth';
import { idempotencyKey, parse, readRawBody } from '../http/body';
import type { InvitationDeps } from '../invitations/deps';
import { idParam } from '../invitations/schemas';
import { batchRowsQuery, bulkCsvQuery, bulkJsonBody } from './schemas';

const MAX_BULK_BYTES = 16 * 1024 * 1024;

/** Bulk invitations: a JSON list or a CSV upload, answered at once with a batch whose progress is readable. */
export function batchRoutes(deps: InvitationDeps): Router<ApiKeyState> {
  const router = new Router<ApiKeyState>();
  router.use(['/v1/invitations/bulk', '/v1/invitation-batches'], requireApiKey(deps.db), requireInvitationScope());

  router.post('/v1/invitations/bulk', async (ctx) => {
    const { principal } = ctx.state;
    // A header sent empty is a key that is not one (400), not a request without a key.
    const key = ctx.headers['idempotency-key'] !== undefined ? parse(idempotencyKey, ctx.get('idempotency-key')) : undefined;
    const raw = await readRawBody(ctx, MAX_BULK_BYTES);
    // The query's options are for CSV, but checked whatever the body: a request the document calls invalid is refused.
    const query = parse(bulkCsvQuery, ctx.query);
    let options: { rows: Record<string, unknown>[]; sendEmail: boolean; expiresInDays?: number };
    if (ctx.is('text/csv')) {
      options = { rows: rowsFromCsv(raw), sendEmail: query.sendEmail === 'true', expiresInDays: query.expiresInDays };
    } else if (ctx.is('application/json', '+json')) {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        throw new UsherError('malformed-json', (err as Error).message);
      }
      const body = parse(bulkJsonBody, value);
      options = { rows: body.invitations, sendEmail: body.sendEmail, expiresInDays: body.expiresInDays };
    } else {
      throw new UsherError('unsupported-media-type', 'send application/json ({"invitations": [...]}) or text/csv');
    }
    const batch = await createBatch(deps, {
      tenantId: principal.tenantId,
      inviterUserId: principal.userId,
      maxRank: principal.ceilingRank,
      rows: options.rows,
      sendEmail: options.sendEmail,
      expiresInDays: options.expiresInDays,
      actor: keyActor(ctx.state),
      idempotencyKey: key,
    });
    ctx.status = 202;
    ctx.set('Location', `/v1/invitation-batches/${batch.id}`);
    if (batch.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = { id: batch.id, status: 'running', total: batch.total, statusUrl: `/v1/invitation-batches/${batch.id}` };
  });

  router.get('/v1/invitation-batches/:id', async (ctx) => {
    const { principal } = ctx.state;
    const id = parse(idParam, ctx.params.id);
    const query = parse(batchRowsQuery, ctx.query);
    const batch = await findBatch(deps.db, principal.tenantId, id);
    if (!batch) throw new UsherError('not-found', 'no such batch');
    const counts = await batchCounts(deps.db, id);
    const rows = await listBatchRows(deps.db, id, query.after, query.limit);
    const last = rows.at(-1)?.row_number;
    ctx.body = {
      id: batch.id,
      status: batch.status,
      total: batch.total,
      processed: batch.total - counts.pending,
      counts: { created: counts.created, duplicate: counts.duplicate, invalid: counts.invalid, alreadyMember: counts['already-member'], failed: counts.failed },
      createdAt: batch.created_at.toISOString(),
      completedAt: batch.completed_at?.toISOString() ?? null,
      rows: rows.map((r) => ({
        row: r.row_number,
        email: typeof r.input.email === 'string' ? r.input.email : null,
        result: r.result ?? 'pending',
        reason: r.reason,
        invitationId: r.invitation_id,
      })),
      nextRowsAfter: last !== undefined && last < batch.total ? last : null,
    };
  });
  return router;
}
