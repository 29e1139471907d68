/** Usher's HTTP API as the bench calls it: what a product's back end and an invitee's browser do. */

export interface UsherApi {
  create(email: string, extra?: Record<string, unknown>): Promise<{ id: string }>;
  accept(token: string): Promise<void>;
  lookup(token: string): Promise<void>;
  list(query: string): Promise<void>;
  get(id: string): Promise<void>;
  bulkCsv(csv: string): Promise<{ id: string }>;
  batch(id: string): Promise<{ status: string; total: number; processed: number; counts: { created: number } }>;
  /** How many calls the API turned away at its cap on requests in flight (503 with Retry-After), each retried. */
  readonly shed: number;
}

export function usherApi(baseUrl: string, apiKey: string): UsherApi {
  const auth = { authorization: `Bearer ${apiKey}` };
  let shed = 0;
  const call = async (path: string, init: RequestInit, expect: number) => {
    let response = await fetch(`${baseUrl}${path}`, init);
    // As a well-behaved client does: a call refused for load is made again after the time the API asked for.
    for (let attempt = 1; response.status === 503 && response.headers.has('retry-after') && attempt < 60; attempt++) {
      shed++;
      await response.arrayBuffer();
      await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after')) * 1000));
      response = await fetch(`${baseUrl}${path}`, init);
    }
    const text = await response.text();
    if (response.status !== expect) throw new Error(`${init.method ?? 'GET'} ${path.split('?')[0]} answered ${response.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    get shed() {
      return shed;
    },
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
