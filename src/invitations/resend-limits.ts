import type { ResendCounters } from '../db/invitations';
import type { ResendLimits } from './deps';

const DAY_MS = 24 * 60 * 60 * 1000;

export type ResendVerdict = { ok: true; next: ResendCounters } | { ok: false; message: string; retryAfterSeconds?: number };

/**
 * Whether one more resend fits: a cooldown since the last, a cap per rolling day, a cap for the invitation's life (which
 * also bounds its workflow's history). 0 switches a limit off.
 */
export function judgeResend(counters: ResendCounters, limits: ResendLimits, now: Date): ResendVerdict {
  const t = now.getTime();
  if (limits.perInvitation > 0 && counters.resends >= limits.perInvitation) {
    return { ok: false, message: `this invitation was resent ${counters.resends} times, the most allowed; revoke it and invite again` };
  }
  // The cooldown runs from the last resend: the first resend after the invitation is always allowed (a lost email).
  if (limits.cooldownSeconds > 0 && counters.last_resent_at) {
    const wait = counters.last_resent_at.getTime() + limits.cooldownSeconds * 1000 - t;
    if (wait > 0) return { ok: false, message: 'this invitation was resent moments ago', retryAfterSeconds: Math.ceil(wait / 1000) };
  }
  const windowOpen = counters.resend_window_start !== null && t - counters.resend_window_start.getTime() < DAY_MS;
  const windowStart = windowOpen ? counters.resend_window_start! : now;
  const inWindow = windowOpen ? counters.resends_in_window : 0;
  if (limits.perDay > 0 && inWindow >= limits.perDay) {
    return {
      ok: false,
      message: `this invitation was resent ${inWindow} times in a day, the most allowed`,
      retryAfterSeconds: Math.ceil((windowStart.getTime() + DAY_MS - t) / 1000),
    };
  }
  return { ok: true, next: { resends: counters.resends + 1, last_resent_at: now, resend_window_start: windowStart, resends_in_window: inWindow + 1 } };
}
