import http from 'node:http';
import https from 'node:https';
import { guardedLookup, type TargetPolicy, TargetRefused, urlProblem } from './target';

export interface PostInput {
  url: string;
  headers: Record<string, string>;
  body: string;
  policy: TargetPolicy;
  /** Connection to the last byte read. */
  timeoutMs: number;
  /** Bytes of the response body kept; the rest is not read. */
  bodyBytes: number;
  /** Aborts the request (the activity was cancelled). */
  signal?: AbortSignal;
}

export interface PostResult {
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  /** Why the attempt failed; null when it succeeded (a 2xx). */
  error: string | null;
  /** False when trying again cannot help: the target is not allowed. */
  retryable: boolean;
  /** The caller's signal aborted it: no outcome to record. */
  cancelled: boolean;
}

export const USER_AGENT = 'Usher-Webhooks/1';

/**
 * One POST. No redirects (node:http never follows them, and a 3xx counts as a failure), no connection reuse (each
 * attempt resolves and checks its target afresh), at most `bodyBytes` of the answer read, `timeoutMs` for all of it.
 */
export function postWebhook(input: PostInput): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(input.url);
  const refused = urlProblem(url, input.policy);
  if (refused) return Promise.resolve({ statusCode: null, latencyMs: 0, responseBody: null, error: `target refused: the URL ${refused}`, retryable: false, cancelled: false });

  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout;
  const client = url.protocol === 'https:' ? https : http;

  return new Promise<PostResult>((resolve) => {
    let settled = false;
    let statusCode: number | null = null;
    let latencyMs = 0;
    const chunks: Buffer[] = [];
    let kept = 0;
    const finish = (error: string | null, retryable = true) => {
      if (settled) return;
      settled = true;
      const cancelled = input.signal?.aborted === true;
      const responseBody = statusCode === null ? null : Buffer.concat(chunks).toString('utf8');
      resolve({ statusCode, latencyMs: statusCode === null ? elapsed() : latencyMs, responseBody, error, retryable, cancelled });
    };
    const outcome = () => {
      if (statusCode === null) return 'no response';
      if (statusCode >= 200 && statusCode < 300) return null;
      if (statusCode >= 300 && statusCode < 400) return `answered ${statusCode}: redirects are not followed`;
      return `answered ${statusCode}`;
    };

    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...input.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(input.body)), 'user-agent': USER_AGENT },
        agent: false,
        signal,
        ...(input.policy.allowPrivateTargets ? {} : { lookup: guardedLookup }),
      },
      (response) => {
        statusCode = response.statusCode ?? null;
        latencyMs = elapsed();
        response.on('data', (chunk: Buffer) => {
          if (kept < input.bodyBytes) {
            const part = chunk.subarray(0, input.bodyBytes - kept);
            chunks.push(part);
            kept += part.length;
          }
          // Enough is kept: the rest of a large or endless answer is not worth reading.
          if (kept >= input.bodyBytes) {
            finish(outcome());
            response.destroy();
          }
        });
        response.on('end', () => finish(outcome()));
        // Aborted mid-body (timeout): the status already says how the attempt went.
        response.on('error', () => finish(outcome()));
        response.on('close', () => finish(outcome()));
      },
    );
    request.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof TargetRefused || (err as { cause?: unknown }).cause instanceof TargetRefused) {
        finish(`target refused: ${err instanceof TargetRefused ? err.message : (err.cause as Error).message}`, false);
      } else if (timeout.aborted) {
        finish(`no answer within ${input.timeoutMs / 1000} s`);
      } else if (input.signal?.aborted) {
        finish('cancelled');
      } else {
        finish(describe(err));
      }
    });
    request.end(input.body);
  });
}

function describe(err: NodeJS.ErrnoException): string {
  const code = err.code ? `${err.code}: ` : '';
  return `${code}${err.message}`.slice(0, 500);
}
