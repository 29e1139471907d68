/** Load generators and the figures drawn from them. */

export interface Latencies {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function latencies(values: number[]): Latencies {
  return { n: values.length, p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), max: Math.max(...values) };
}

export interface ClosedLoopResult extends Latencies {
  seconds: number;
  /** Completed calls per second over the whole run. */
  rate: number;
  errors: number;
  firstError?: string;
}

/** `concurrency` callers, each starting its next call when the last one returns, until `count` calls are done. */
export async function closedLoop(count: number, concurrency: number, run: (i: number) => Promise<unknown>): Promise<ClosedLoopResult> {
  const times: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        try {
          await run(i);
          times.push(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { ...latencies(times), seconds, rate: times.length / seconds, errors, firstError };
}

export interface OpenLoopResult extends Latencies {
  offered: number;
  achieved: number;
  errors: number;
  firstError?: string;
}

/**
 * Calls arrive on a fixed schedule (`rate` per second for `seconds`) whether or not earlier ones have returned; each
 * latency counts from the moment its call was due, so a stalled system is not hidden by callers that wait.
 */
export async function openLoop(rate: number, seconds: number, run: (i: number) => Promise<unknown>): Promise<OpenLoopResult> {
  const count = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const times: number[] = [];
  const inFlight: Promise<void>[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      run(i).then(
        () => void times.push(performance.now() - due),
        (err: unknown) => {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - t0) / 1000;
  return { ...latencies(times), offered: rate, achieved: times.length / elapsed, errors, firstError };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples `read` every `everyMs` until stopped; `t` is the epoch milliseconds of each sample. */
export function sampler<T>(everyMs: number, read: () => T): { samples: { t: number; value: T }[]; stop(): void } {
  const samples: { t: number; value: T }[] = [{ t: Date.now(), value: read() }];
  const timer = setInterval(() => samples.push({ t: Date.now(), value: read() }), everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      samples.push({ t: Date.now(), value: read() });
    },
  };
}
