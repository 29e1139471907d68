import type { SlotReserveContext } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { workflowTaskSlots } from '../../src/temporal/workflow-task-slots';

const ctx = {} as SlotReserveContext;
const released = { slotInfo: undefined, permit: {} } as never;

/** Reserves a slot and reports whether it has been granted, or refused, yet. */
function reserve(slots: ReturnType<typeof workflowTaskSlots>, signal = new AbortController().signal) {
  const state: { granted: boolean; error?: unknown } = { granted: false };
  slots.supplier.reserveSlot(ctx, signal).then(
    () => {
      state.granted = true;
    },
    (err: unknown) => {
      state.error = err;
    },
  );
  return state;
}

describe('workflowTaskSlots', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('grants up to its maximum at once outside a chunk, and the next once one is released', async () => {
    const slots = workflowTaskSlots({ max: 3, whileChunking: { slots: 1, perSecond: 10 } });
    const held = [reserve(slots), reserve(slots), reserve(slots), reserve(slots)];
    await vi.advanceTimersByTimeAsync(0);
    expect(held.map((h) => h.granted)).toEqual([true, true, true, false]);
    expect(slots.supplier.tryReserveSlot(ctx)).toBeNull();
    slots.supplier.releaseSlot(released);
    await vi.advanceTimersByTimeAsync(0);
    expect(held[3]!.granted).toBe(true);
  });

  it('while a chunk runs, grants one task at a time and at most perSecond a second; all again once it is done', async () => {
    const slots = workflowTaskSlots({ max: 10, whileChunking: { slots: 1, perSecond: 10 } });
    let finishChunk = () => {};
    const chunk = slots.duringChunk(() => new Promise<void>((resolve) => (finishChunk = resolve)));

    const first = reserve(slots);
    const second = reserve(slots);
    await vi.advanceTimersByTimeAsync(0);
    expect([first.granted, second.granted]).toEqual([true, false]);
    expect(slots.supplier.tryReserveSlot(ctx)).toBeNull();

    // Released at once, the next still waits out the 100 ms between grants.
    slots.supplier.releaseSlot(released);
    await vi.advanceTimersByTimeAsync(50);
    expect(second.granted).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(second.granted).toBe(true);

    const waiting = [reserve(slots), reserve(slots), reserve(slots)];
    await vi.advanceTimersByTimeAsync(1_000);
    expect(waiting.map((w) => w.granted)).toEqual([false, false, false]);

    finishChunk();
    await chunk;
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.map((w) => w.granted)).toEqual([true, true, true]);
    expect(slots.supplier.tryReserveSlot(ctx)).not.toBeNull();
  });

  it('holds back while any of several chunks runs, and a chunk that fails lets go too', async () => {
    const slots = workflowTaskSlots({ max: 10, whileChunking: { slots: 1, perSecond: 10 } });
    let finishA = () => {};
    const a = slots.duringChunk(() => new Promise<void>((resolve) => (finishA = resolve)));
    const b = slots.duringChunk(() => Promise.reject(new Error('chunk failed')));
    await expect(b).rejects.toThrow('chunk failed');

    const first = reserve(slots);
    const second = reserve(slots);
    await vi.advanceTimersByTimeAsync(500);
    expect([first.granted, second.granted]).toEqual([true, false]);
    finishA();
    await a;
    await vi.advanceTimersByTimeAsync(0);
    expect(second.granted).toBe(true);
  });

  it('a reservation the SDK aborts while it waits is refused with AbortError and takes no slot', async () => {
    const slots = workflowTaskSlots({ max: 1, whileChunking: { slots: 1, perSecond: 10 } });
    const held = reserve(slots);
    const abort = new AbortController();
    const given = reserve(slots, abort.signal);
    const after = reserve(slots);
    await vi.advanceTimersByTimeAsync(0);
    abort.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(held.granted).toBe(true);
    expect((given.error as Error).name).toBe('AbortError');
    expect(after.granted).toBe(false);
    slots.supplier.releaseSlot(released);
    await vi.advanceTimersByTimeAsync(0);
    expect(given.granted).toBe(false);
    expect(after.granted).toBe(true);
  });
});
