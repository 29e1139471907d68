import type { Check } from './invariants';
import { answerSummary, type CreateAttempt, createInvitations, type Ledger } from './load';
import { type FaultStack, request, sleep } from './stack';

export interface OutageResult {
  downAt: number;
  during: CreateAttempt[];
  readyDuring: { status: number | null; ms: number }[];
  /** From the dependency's return until /readyz said 200; null if it never did. */
  readyAfterMs: number | null;
  after: CreateAttempt[];
}

/**
 * Once a dependency is known to be down, a create says so at once: half of them within a second, none slower than
 * 2.5 s (this machine is shared; the promise being checked is "not after a 10 s deadline").
 */
const FAST_MEDIAN_MS = 1_000;
const FAST_MAX_MS = 2_500;
/** The first requests of an outage may find out the slow way (connect, start deadline); after this, it is known. */
const KNOWN_AFTER_MS = 5_000;
/** Ready again within this long of the dependency's return. */
const READY_AGAIN_MS = 5_000;

/**
 * A dependency (Temporal or PostgreSQL) stopped for `outageMs` under load, then started again. During the outage four
 * callers keep creating (paced) and /readyz is sampled; after the return, /readyz is watched until it says ready, and
 * a few more creates must succeed.
 */
export async function runOutage(
  stack: FaultStack,
  ledger: Ledger,
  notes: string[],
  dependency: { name: string; stop(): Promise<void>; start(): Promise<void> },
  outageMs: number,
): Promise<OutageResult> {
  await dependency.stop();
  const downAt = Date.now();
  notes.push(`${dependency.name} stopped for ${outageMs / 1000} s`);
  const readyDuring: { status: number | null; ms: number }[] = [];
  const sampling = (async () => {
    while (Date.now() - downAt < outageMs - 2_000) {
      await sleep(3_000);
      const r = await request(stack.baseUrl, '', '/readyz', { key: null, timeoutMs: 10_000 });
      readyDuring.push({ status: r.status, ms: r.ms });
    }
  })();
  const during = await createInvitations(stack, ledger, {
    count: 100_000,
    phase: 'outage',
    concurrency: 4,
    paceMs: 500,
    stopWhen: () => Date.now() - downAt > outageMs,
  });
  await sampling;
  const rest = outageMs - (Date.now() - downAt);
  if (rest > 0) await sleep(rest);
  await dependency.start();
  const upAt = Date.now();
  notes.push(`during the outage: creates ${answerSummary(during)}; /readyz ${readyDuring.map((r) => `${r.status ?? 'none'} in ${r.ms} ms`).join(', ')}`);

  let readyAfterMs: number | null = null;
  while (Date.now() - upAt < 120_000) {
    const r = await request(stack.baseUrl, '', '/readyz', { key: null, timeoutMs: 5_000 });
    if (r.status === 200) {
      readyAfterMs = Date.now() - upAt;
      break;
    }
    await sleep(250);
  }
  notes.push(`${dependency.name} back: /readyz 200 after ${readyAfterMs === null ? 'more than 120 s' : `${(readyAfterMs / 1000).toFixed(1)} s`}`);
  const after = await createInvitations(stack, ledger, { count: 20, phase: 'after', concurrency: 4 });
  notes.push(`after the return: creates ${answerSummary(after)}`);
  return { downAt, during, readyDuring, readyAfterMs, after };
}

/** What item 2 of the issue promises for an outage: 503 + Retry-After, fast once known, ready again soon after. */
export function outageChecks(result: () => OutageResult): Check[] {
  return [
    {
      name: 'outage: creates answer 503 with Retry-After, fast once known (median ≤ 1 s, max ≤ 2.5 s)',
      run() {
        const { during, downAt } = result();
        const failures = during.flatMap((a) => {
          const known = a.at - downAt >= KNOWN_AFTER_MS;
          const why: string[] = [];
          if (a.status !== 503) why.push(a.status === null ? `no answer in ${a.ms} ms` : `answered ${a.status} ${a.problem ?? ''}`.trim());
          else if (!a.retryAfter) why.push('503 without Retry-After');
          if (known && a.ms > FAST_MAX_MS) why.push(`took ${a.ms} ms`);
          return why.length ? [`create at +${((a.at - downAt) / 1000).toFixed(1)} s into the outage: ${why.join(', ')}`] : [];
        });
        const known = during.filter((a) => a.at - downAt >= KNOWN_AFTER_MS).map((a) => a.ms).sort((x, y) => x - y);
        const median = known[Math.floor(known.length / 2)];
        if (median !== undefined && median > FAST_MEDIAN_MS) failures.unshift(`median answer once known: ${median} ms`);
        return failures;
      },
    },
    {
      name: 'outage: /readyz says 503 within 2.5 s',
      run: () => result().readyDuring.flatMap((r) => (r.status === 503 && r.ms <= FAST_MAX_MS ? [] : [`/readyz ${r.status ?? 'no answer'} in ${r.ms} ms`])),
    },
    {
      name: `after: ready within ${READY_AGAIN_MS / 1000} s, creates answered 201`,
      run() {
        const { readyAfterMs, after } = result();
        const out: string[] = [];
        if (readyAfterMs === null || readyAfterMs > READY_AGAIN_MS) out.push(`/readyz 200 only after ${readyAfterMs === null ? '> 120 s' : `${(readyAfterMs / 1000).toFixed(1)} s`}`);
        for (const a of after.filter((x) => x.status !== 201)) out.push(`create after the return: ${a.status ?? 'no answer'} ${a.problem ?? a.error ?? ''}`.trim());
        return out;
      },
    },
  ];
}
