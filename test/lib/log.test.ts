import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../src/lib/log';

const token = 'Qm9vb29vb29vb29vb29vb29vb29vb29vb29vb29vb2Z';

describe('log redaction', () => {
  it('masks link tokens, API keys and credentials wherever they appear in a line', () => {
    expect(redact(`GET /invite/${token} failed`)).toBe('GET /invite/:token failed');
    expect(redact(`lookup?token=${token}&x=1`)).toBe('lookup?token=[redacted]&x=1');
    expect(redact(`no such token ${token}.`)).toBe('no such token [redacted].');
    expect(redact('Authorization: Bearer usher_abcdefghijklmnop')).toBe('Authorization: Bearer [redacted]');
    expect(redact('key usher_abcdefghijklmnopqrstuv was revoked')).toBe('key usher_[redacted] was revoked');
    expect(redact('invitation 0190a3c1-7d2e-7000-8000-1234567890ab created')).toBe('invitation 0190a3c1-7d2e-7000-8000-1234567890ab created');
  });

  it('masks secret fields and error stacks in what a logger writes', () => {
    const lines: string[] = [];
    const log = createLogger('debug', {}, (line) => lines.push(line));
    log.error('unhandled error', { path: `/invite/${token}`, error: new Error(`bad token ${token}`), password: 'hunter2', nested: { apiKey: 'k' } });
    const line = JSON.parse(lines[0]!);
    expect(line.path).toBe('/invite/:token');
    expect(line.error).toContain('bad token [redacted]');
    expect(line.password).toBe('[redacted]');
    expect(line.nested.apiKey).toBe('[redacted]');
    expect(lines[0]).not.toContain(token);
  });
});
