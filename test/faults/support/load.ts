import { randomBytes } from 'node:crypto';
import type { FaultStack } from './stack';

/** How many invitations each scenario keeps in flight; `USHER_FAULT_LOAD=50` for a quick local run. */
export const LOAD = Math.max(1, Number(process.env.USHER_FAULT_LOAD ?? 200) || 200);

/**
 * How long the load's callers repeat a create answered 503 (or not at all) before taking that answer: an API under
 * this load may shed some creates, and a scenario needs its invitations in flight to test anything.
 */
export const RETRY_FOR_MS = 180_000;

/** One create request as the caller saw it: the answer, or none (`status: null`). */
export interface CreateAttempt {
  email: string;
  phase: string;
  status: number | null;
  id?: string;
  ms: number;
  retryAfter: string | null;
  problem?: string;
  error?: string;
  at: number;
}

/** Every create of a scenario, whatever its answer: the invariants judge them all. */
export class Ledger {
  readonly attempts: CreateAttempt[] = [];
  created(): CreateAttempt[] {
    return this.attempts.filter((a) => a.status === 201);
  }
  /** No answer, or an answer that does not say what happened (5xx). */
  unanswered(): CreateAttempt[] {
    return this.attempts.filter((a) => a.status === null || a.status >= 500);
  }
  /** A definite refusal (4xx): nothing may be left of it. */
  refused(): CreateAttempt[] {
    return this.attempts.filter((a) => a.status !== null && a.status >= 400 && a.status < 500);
  }
  byPhase(phase: string): CreateAttempt[] {
    return this.attempts.filter((a) => a.phase === phase);
  }
}

let sequence = 0;

export const faultEmail = (prefix: string) => `${prefix}-${++sequence}-${randomBytes(3).toString('hex')}@faults.example`;

/**
 * Creates invitations through `POST /v1/invitations` with `concurrency` callers, `count` in all or until `stopWhen`
 * says so (checked before each request). Every attempt lands in the ledger.
 */
export async function createInvitations(
  stack: FaultStack,
  ledger: Ledger,
  options: {
    count: number;
    phase: string;
    concurrency?: number;
    prefix?: string;
    stopWhen?: () => boolean;
    timeoutMs?: number;
    /** Called after each answer (for "kill the API after N answers"). */
    onAnswer?: (attempt: CreateAttempt) => void;
    body?: Record<string, unknown>;
    /** Emails to use instead of fresh ones (e.g. chosen to be rejected by the SMTP server). */
    email?: (i: number) => string;
    /** Each caller waits at least this long between its requests (an outage answered in 5 ms must not mean 10 000 requests). */
    paceMs?: number;
    /**
     * Like a careful client, repeat a create that got a 503 or no answer (same Idempotency-Key, after its
     * Retry-After) for up to this long; 0 (the default) takes the first answer. Every attempt is in the ledger.
     */
    retryForMs?: number;
  },
): Promise<CreateAttempt[]> {
  const made: CreateAttempt[] = [];
  let next = 0;
  const caller = async () => {
    for (;;) {
      if (options.stopWhen?.()) return;
      const i = next++;
      if (i >= options.count) return;
      const email = options.email?.(i) ?? faultEmail(options.prefix ?? stack.scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
      const giveUpAt = Date.now() + (options.retryForMs ?? 0);
      let lastMs = 0;
      for (;;) {
        const at = Date.now();
        const answer = await stack.request('/v1/invitations', {
          json: { email, role: 'member', ...options.body },
          headers: { 'idempotency-key': `fault-${email}` },
          timeoutMs: options.timeoutMs ?? 30_000,
        });
        const attempt: CreateAttempt = {
          email,
          phase: options.phase,
          status: answer.status,
          ms: answer.ms,
          retryAfter: answer.headers?.get('retry-after') ?? null,
          at,
          ...(answer.status === 201 ? { id: answer.body.id as string } : {}),
          ...(answer.status !== null && answer.status !== 201 ? { problem: String(answer.body?.type ?? answer.body?.title ?? '').slice(0, 80) } : {}),
          ...(answer.error ? { error: answer.error } : {}),
        };
        made.push(attempt);
        ledger.attempts.push(attempt);
        options.onAnswer?.(attempt);
        lastMs = attempt.ms;
        const unavailable = attempt.status === null || attempt.status >= 500;
        if (!unavailable || Date.now() >= giveUpAt || options.stopWhen?.()) break;
        await new Promise((r) => setTimeout(r, Math.max(1_000, Number(attempt.retryAfter ?? 1) * 1_000)));
      }
      if (options.paceMs && lastMs < options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs! - lastMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, caller));
  return made;
}

/** A one-line summary of answers: `201×180 503×20 none×3, p50 40 ms, max 10.2 s`. */
export function answerSummary(attempts: CreateAttempt[]): string {
  if (attempts.length === 0) return 'no requests';
  const byStatus = new Map<string, number>();
  for (const a of attempts) byStatus.set(a.status === null ? 'none' : String(a.status), (byStatus.get(a.status === null ? 'none' : String(a.status)) ?? 0) + 1);
  const ms = attempts.map((a) => a.ms).sort((x, y) => x - y);
  const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);
  return `${[...byStatus].map(([s, n]) => `${s}×${n}`).join(' ')}, p50 ${fmt(ms[Math.floor(ms.length / 2)]!)}, max ${fmt(ms.at(-1)!)}`;
}
