/** Usher's HTTP API as the bench calls it: what a product's back end and an invitee's browser do. */

export interface UsherApi {
  create(email: string, extra?: Record<string, unknown>): Promise<{ id: string }>;
  accept(token: string): Promise<void>;
  lookup(token: string): Promise<void>;
  list(query: string): Promise<void>;
  get(id: string): Promise<void>;
  bulkCsv(csv: string): Promise<{ id: string }>;
  batch(id: string): Promise<{ status: string; total: number; processed: number; counts: { created: number } }>;
}

export function usherApi(baseUrl: string, apiKey: string): UsherApi {
  const auth = { authorization: `Bearer ${apiKey}` };
  const call = async (path: string, init: RequestInit, expect: number) => {
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    if (response.status !== expect) throw new Error(`${init.method ?? 'GET'} ${path.split('?')[0]} answered ${response.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    async create(email, extra = {}) {
      const body = await call(
        '/v1/invitations',
        { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ email, role: 'member', ...extra }) },
        201,
      );
      return { id: body.id };
    },
    async accept(token) {
      await call('/v1/invitations/accept', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }, 200);
    },
    async lookup(token) {
      await call(`/v1/invitations/lookup?token=${encodeURIComponent(token)}`, {}, 200);
    },
    async list(query) {
      await call(`/v1/invitations?${query}`, { headers: auth }, 200);
    },
    async get(id) {
      await call(`/v1/invitations/${id}`, { headers: auth }, 200);
    },
    async bulkCsv(csv) {
      const body = await call('/v1/invitations/bulk?sendEmail=true', { method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: csv }, 202);
      return { id: body.id };
    },
    async batch(id) {
      return call(`/v1/invitation-batches/${id}?limit=1`, { headers: auth }, 200);
    },
  };
}

/** The token part of an accept link. */
export const tokenOf = (link: string | null): string => {
  if (!link) throw new Error('the email has no accept link');
  return link.slice(link.lastIndexOf('/') + 1);
};
