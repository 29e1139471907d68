import type { ProblemCode } from '../lib/errors';
import { body, idParameter, JSON_BODY, KEYED_WRITE, linksTo, noContent, ok, problemResponses, queryParameters } from '../http/openapi';
import { FORBIDDEN } from './problems';

/**
 * The pieces every resource's OpenAPI paths are built from (src/http/openapi.ts), and the refusals the management
 * surface shares. An operation lists all its refusals in one `problem(...)`: one response per status.
 */
export { body, idParameter, linksTo, noContent, ok, queryParameters };

export const problem = (...codes: ProblemCode[]) => problemResponses(...codes);

export const operator = [{ adminToken: [] }];
export const tenantKey = [{ apiKey: [] }];
export const manage = 'Needs a key with the management scope whose user holds the tenant\'s highest-ranked role (owner).';
/** Any key of the tenant. */
export const asKey: ProblemCode[] = ['unauthorized'];
/** A manager's key (requireManager). */
export const asManager: ProblemCode[] = ['unauthorized', 'missing-scope', FORBIDDEN];
/** A JSON body, sent with a key (so under the per-key write limit). */
export const write: ProblemCode[] = [...JSON_BODY, ...KEYED_WRITE];
/** A path `{id}` that is not a UUID. */
export const badId: ProblemCode[] = ['invalid-request'];
/** A write without a body (DELETE), still under the per-key write limit. */
export const keyedWrite: ProblemCode[] = [...KEYED_WRITE];
