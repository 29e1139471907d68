import { describe, expect, it } from 'vitest';
import { keyedTurns } from '../../src/lib/turns';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keyedTurns', () => {
  it('runs callers of one key one at a time in arrival order, other keys alongside', async () => {
    const turns = keyedTurns();
    const log: string[] = [];
    const job = (key: string, name: string, ms: number) =>
      turns.run(key, 10_000, async () => {
        log.push(`start ${name}`);
        await sleep(ms);
        log.push(`end ${name}`);
        return name;
      });
    const results = await Promise.all([job('a', 'a1', 30), job('a', 'a2', 5), job('b', 'b1', 5), job('a', 'a3', 1)]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    const a = log.filter((l) => l.endsWith('a1') || l.endsWith('a2') || l.endsWith('a3'));
    expect(a).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(turns.size()).toBe(0);
  });

  it('lets a caller go on after its longest wait, and a failure frees the turn', async () => {
    const turns = keyedTurns();
    // The waits told apart are seconds apart, so a loaded machine's late timers cannot blur them.
    const slow = turns.run('k', 10_000, () => sleep(3_000));
    const t0 = Date.now();
    await turns.run('k', 50, async () => undefined);
    expect(Date.now() - t0).toBeLessThan(1_500);
    await slow;
    const t1 = Date.now();
    const failing = turns.run('k', 10_000, async () => {
      await sleep(200);
      throw new Error('boom');
    });
    const next = turns.run('k', 10_000, async () => undefined);
    await expect(failing).rejects.toThrow('boom');
    await next;
    expect(Date.now() - t1).toBeLessThan(5_000);
    expect(turns.size()).toBe(0);
  });
});
