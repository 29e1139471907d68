/**
 * The Temporal header that carries the HTTP request id from the client (src/temporal/interceptors.ts) into the workflow
 * and on to its activities (workflows/interceptors.ts), so their log lines name the request that started them. A
 * request id is a short plain string checked by isSafeRequestId (never a token): it is the only thing this header puts
 * into history.
 */
export const REQUEST_ID_HEADER = 'usher-request-id';
