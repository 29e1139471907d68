import { UsherError } from '../lib/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque to clients: the (created_at, id) of the last row of the previous page. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    const createdAt = new Date(typeof at === 'string' ? at : Number.NaN);
    // Every row id is a UUID: anything else would reach the database as a malformed value.
    if (Number.isNaN(createdAt.getTime()) || typeof id !== 'string' || !UUID.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new UsherError('invalid-request', 'cursor: not a cursor this API returned', { errors: [{ path: 'cursor', message: 'invalid' }] });
  }
}

/**
 * Keyset paging, newest first, over (created_at, id): the query is asked for one row more than the page, and that
 * row's presence is what makes a next cursor.
 */
export async function keysetPage<T extends { created_at: Date; id: string }>(
  query: { limit: number; cursor?: string },
  fetch: (window: { limit: number; after?: { createdAt: Date; id: string } }) => Promise<T[]>,
): Promise<{ rows: T[]; nextCursor: string | null }> {
  const rows = await fetch({ limit: query.limit + 1, after: query.cursor ? decodeCursor(query.cursor) : undefined });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { rows: page, nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.id) : null };
}
