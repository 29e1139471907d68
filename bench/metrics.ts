/**
 * The worker's Temporal SDK metrics (its /metrics, WORKER_METRICS_PORT), read before and after a phase: how long
 * workflow and activity tasks waited in their queues and how long they ran.
 */

export type Scrape = Map<string, number>;

export async function scrape(port: number): Promise<Scrape> {
  const series: Scrape = new Map();
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      const value = Number(line.slice(space + 1));
      if (Number.isFinite(value)) series.set(line.slice(0, space), value);
    }
  } catch {
    // No metrics: the figures that need them say n/a.
  }
  return series;
}

export interface TaskLatency {
  /** The metric (without the _seconds suffix) and the label filter it was read with. */
  name: string;
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

const labelsOf = (key: string): Record<string, string> => {
  const open = key.indexOf('{');
  if (open < 0) return {};
  const labels: Record<string, string> = {};
  for (const m of key.slice(open + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
};
const baseOf = (key: string) => (key.includes('{') ? key.slice(0, key.indexOf('{')) : key);

/** A histogram's change between two scrapes, for series whose labels include `filter`; undefined when it did not move. */
export function histogramDelta(before: Scrape, after: Scrape, metric: string, filter: Record<string, string> = {}): TaskLatency | undefined {
  const matches = (key: string) => Object.entries(filter).every(([k, v]) => labelsOf(key)[k] === v);
  const sum = (suffix: string) => {
    let total = 0;
    for (const [key, value] of after) {
      if (baseOf(key) === `${metric}${suffix}` && matches(key)) total += value - (before.get(key) ?? 0);
    }
    return total;
  };
  const count = sum('_count');
  if (count <= 0) return undefined;
  const buckets = new Map<number, number>();
  for (const [key, value] of after) {
    if (baseOf(key) !== `${metric}_bucket` || !matches(key)) continue;
    const le = labelsOf(key).le;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value - (before.get(key) ?? 0));
  }
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const quantile = (q: number) => {
    const target = q * count;
    for (const bound of bounds) if (buckets.get(bound)! >= target) return bound;
    return Number.POSITIVE_INFINITY;
  };
  const seconds = metric.endsWith('_seconds');
  const toMs = (v: number) => (seconds ? v * 1000 : v);
  return {
    name: `${metric.replace(/^temporal_/, '').replace(/_seconds$/, '')}${Object.keys(filter).length ? ` ${JSON.stringify(filter)}` : ''}`,
    count,
    meanMs: toMs(sum('_sum') / count),
    p50Ms: toMs(quantile(0.5)),
    p99Ms: toMs(quantile(0.99)),
  };
}

/** Counters' change between two scrapes, summed over their labels: the worker's sticky cache (hits, misses, evictions). */
export function counterDeltas(before: Scrape, after: Scrape, match: RegExp = /sticky_cache_(?!size)/): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    const base = baseOf(key);
    if (!match.test(base)) continue;
    const name = base.replace(/^temporal_/, '');
    out[name] = (out[name] ?? 0) + value - (before.get(key) ?? 0);
  }
  return out;
}

/** The task latencies worth printing for a phase. */
export function taskLatencies(before: Scrape, after: Scrape): TaskLatency[] {
  const out: TaskLatency[] = [];
  const add = (metric: string, filter?: Record<string, string>) => {
    const found = histogramDelta(before, after, metric, filter) ?? histogramDelta(before, after, `${metric}_seconds`, filter);
    if (found) out.push(found);
  };
  add('temporal_workflow_task_schedule_to_start_latency');
  add('temporal_workflow_task_execution_latency');
  add('temporal_workflow_task_replay_latency');
  add('temporal_activity_schedule_to_start_latency');
  const types = new Set<string>();
  for (const key of after.keys()) {
    if (baseOf(key).startsWith('temporal_activity_execution_latency')) {
      const type = labelsOf(key).activity_type;
      if (type) types.add(type);
    }
  }
  for (const type of [...types].sort()) add('temporal_activity_execution_latency', { activity_type: type });
  add('temporal_local_activity_execution_latency');
  return out;
}
