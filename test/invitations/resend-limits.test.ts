import { describe, expect, it } from 'vitest';
import { judgeResend } from '../../src/invitations/resend-limits';

const fresh = { resends: 0, last_resent_at: null, resend_window_start: null, resends_in_window: 0 };
const limits = { cooldownSeconds: 60, perDay: 10, perInvitation: 50 };
const at = (iso: string) => new Date(iso);

describe('resend limits', () => {
  it('let a first resend through and count it', () => {
    const verdict = judgeResend(fresh, limits, at('2026-11-29T10:00:00Z'));
    expect(verdict).toEqual({ ok: true, next: { resends: 1, last_resent_at: at('2026-11-29T10:00:00Z'), resend_window_start: at('2026-11-29T10:00:00Z'), resends_in_window: 1 } });
  });

  it('refuse inside the cooldown, saying when to retry', () => {
    const counters = { ...fresh, resends: 1, last_resent_at: at('2026-11-29T10:00:00Z'), resend_window_start: at('2026-11-29T10:00:00Z'), resends_in_window: 1 };
    expect(judgeResend(counters, limits, at('2026-11-29T10:00:45Z'))).toMatchObject({ ok: false, retryAfterSeconds: 15 });
    expect(judgeResend(counters, limits, at('2026-11-29T10:01:00Z')).ok).toBe(true);
  });

  it('open a new day once the last one has passed, and stop for good at the lifetime cap', () => {
    const fullDay = { resends: 10, last_resent_at: at('2026-11-29T12:00:00Z'), resend_window_start: at('2026-11-29T10:00:00Z'), resends_in_window: 10 };
    expect(judgeResend(fullDay, limits, at('2026-11-30T09:59:00Z'))).toMatchObject({ ok: false, retryAfterSeconds: 60 });
    expect(judgeResend(fullDay, limits, at('2026-11-30T10:00:00Z'))).toMatchObject({ ok: true, next: { resends_in_window: 1, resends: 11 } });
    expect(judgeResend({ ...fullDay, resends: 50 }, limits, at('2026-12-09T10:00:00Z'))).toMatchObject({ ok: false });
    expect(judgeResend({ ...fullDay, resends: 50 }, limits, at('2026-12-09T10:00:00Z'))).not.toHaveProperty('retryAfterSeconds');
  });
});
