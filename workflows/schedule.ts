const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Reminder times for one cycle of an invitation. The tenant gives reminder points in days for a TTL of
 * `basisDays` (2/5/10 of 14 by default); they are scaled to the invitation's own TTL, so a 7-day invitation is
 * reminded at 1, 2.5 and 5 days. Points at or past expiry are dropped. Pure: the workflow and the API share it.
 */
export function reminderTimes(startMs: number, expiresAtMs: number, reminderDays: number[], basisDays: number): number[] {
  const ttl = expiresAtMs - startMs;
  if (ttl <= 0 || basisDays <= 0) return [];
  return [...new Set(reminderDays)]
    .filter((d) => d > 0 && d < basisDays)
    .sort((a, b) => a - b)
    .map((d) => startMs + Math.round((d / basisDays) * ttl))
    .filter((t) => t < expiresAtMs);
}

export const daysToMs = (days: number): number => days * DAY_MS;
