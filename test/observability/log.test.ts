import { describe, expect, it } from 'vitest';
import { createLogger, isSafeRequestId, withLogContext } from '../../src/lib/log';

const token = 'Qm9vb29vb29vb29vb29vb29vb29vb29vb29vb29vb2Z';

describe('pino logger', () => {
  it('writes one JSON object per line with the level as a word, honouring the level', () => {
    const lines: string[] = [];
    const log = createLogger('info', { service: 'usher-test' }, (line) => lines.push(line));
    log.debug('hidden');
    log.info('shown', { n: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), service: 'usher-test', n: 1, msg: 'shown' });
    createLogger('silent', {}, (line) => lines.push(line)).error('nothing');
    expect(lines).toHaveLength(1);
  });

  it('adds the log context (request, workflow, activity) to every line written inside it, nested contexts adding up', async () => {
    const lines: any[] = [];
    const log = createLogger('debug', {}, (line) => lines.push(JSON.parse(line)));
    await withLogContext({ requestId: 'req-1' }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.info('outer');
      await withLogContext({ workflowId: 'invitation-1', activityType: 'sendInvitationEmail' }, async () => log.info('inner'));
    });
    log.info('outside');
    expect(lines.map((l) => [l.msg, l.requestId, l.activityType])).toEqual([
      ['outer', 'req-1', undefined],
      ['inner', 'req-1', 'sendInvitationEmail'],
      ['outside', undefined, undefined],
    ]);
  });

  it('masks secrets in the context too, and lets only plain request ids travel into workflow headers', () => {
    const lines: string[] = [];
    const log = createLogger('debug', {}, (line) => lines.push(line));
    withLogContext({ requestId: token }, () => log.info('odd request id'));
    expect(lines[0]).not.toContain(token);
    expect(isSafeRequestId('0190a3c1-7d2e-7000-8000-1234567890ab')).toBe(true);
    expect(isSafeRequestId('obs-create-1')).toBe(true);
    expect(isSafeRequestId(token)).toBe(false);
    expect(isSafeRequestId('usher_abcdefghijklmnop')).toBe(false);
    expect(isSafeRequestId('a b')).toBe(false);
    expect(isSafeRequestId('x'.repeat(101))).toBe(false);
  });
});
