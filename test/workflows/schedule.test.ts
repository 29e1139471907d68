import { describe, expect, it } from 'vitest';
import { reminderTimes } from '../../workflows/schedule';

const DAY = 86_400_000;
const days = (times: number[]) => times.map((t) => t / DAY);

describe('reminder schedule', () => {
  it('reminds at 2, 5 and 10 days of a 14-day invitation', () => {
    expect(days(reminderTimes(0, 14 * DAY, [2, 5, 10], 14))).toEqual([2, 5, 10]);
  });

  it('scales to the invitation’s own TTL', () => {
    expect(days(reminderTimes(0, 7 * DAY, [2, 5, 10], 14))).toEqual([1, 2.5, 5]);
    expect(days(reminderTimes(0, 28 * DAY, [2, 5, 10], 14))).toEqual([4, 10, 20]);
  });

  it('starts from the cycle start, sorted, without duplicates or points at or past the basis', () => {
    expect(days(reminderTimes(3 * DAY, 17 * DAY, [10, 2, 2, 14, 20, 0, -1], 14))).toEqual([5, 13]);
  });

  it('has nothing to remind of once the invitation has expired', () => {
    expect(reminderTimes(10 * DAY, 10 * DAY, [2], 14)).toEqual([]);
  });
});
