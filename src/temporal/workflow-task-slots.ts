import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityInterceptors, CustomSlotSupplier, SlotPermit, WorkflowSlotInfo } from '@temporalio/worker';

/**
 * How many workflow tasks a worker takes on at once, and how often, fewer while it works through a bulk upload's chunk.
 *
 * A chunk provisions its rows' invitees, sends their emails and starts their workflows; each started workflow's first
 * task only records its timer (an opened row is already waiting). On cores the worker shares with Temporal, running
 * those first tasks as fast as they arrive took half the CPU an upload needed, so the upload, and with it every row's
 * email, took twice as long. While a chunk runs, the worker takes one workflow task at a time and at most `perSecond`
 * a second; the rest wait on the server, where a person's tasks (default priority) come before an upload's rows
 * (priority 4), and run once the chunks are done.
 */
export interface WorkflowTaskSlots {
  supplier: CustomSlotSupplier<WorkflowSlotInfo>;
  /** Runs `work` with the worker's workflow tasks held back; calls may overlap. */
  duringChunk<T>(work: () => Promise<T>): Promise<T>;
  /** For the worker's metrics: tasks it would take on now beyond those it runs, and the chunks holding it back. */
  state(): { available: number; chunks: number };
}

export function workflowTaskSlots(options: { max: number; whileChunking: { slots: number; perSecond: number } }, now = () => Date.now()): WorkflowTaskSlots {
  let chunks = 0;
  /** Slots reserved: a poll waiting for a task holds one too. */
  let used = 0;
  /** Slots a task runs in. */
  let running = 0;
  let lastGrant = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  const waiting: Array<() => void> = [];
  const spacing = 1000 / options.whileChunking.perSecond;

  const limit = () => (chunks === 0 ? options.max : options.whileChunking.slots);
  /** Milliseconds until a slot may be granted, or undefined while every slot is taken. */
  const wait = (): number | undefined => {
    if (used >= limit()) return undefined;
    if (chunks === 0) return 0;
    return Math.max(0, lastGrant + spacing - now());
  };
  const take = () => {
    used += 1;
    lastGrant = now();
  };
  const wake = () => {
    for (let delay = wait(); delay === 0 && waiting.length > 0; delay = wait()) waiting.shift()?.();
    const delay = wait();
    if (delay !== undefined && delay > 0 && waiting.length > 0 && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        wake();
      }, delay);
    }
  };
  const permit: SlotPermit = {};

  const supplier: CustomSlotSupplier<WorkflowSlotInfo> = {
    type: 'custom',
    reserveSlot(_ctx, abortSignal) {
      if (waiting.length === 0 && wait() === 0) {
        take();
        return Promise.resolve(permit);
      }
      return new Promise<SlotPermit>((resolve, reject) => {
        const grant = () => {
          abortSignal.removeEventListener('abort', abort);
          take();
          resolve(permit);
        };
        const abort = () => {
          const at = waiting.indexOf(grant);
          if (at >= 0) waiting.splice(at, 1);
          reject(abortSignal.reason ?? new DOMException('aborted', 'AbortError'));
        };
        abortSignal.addEventListener('abort', abort, { once: true });
        waiting.push(grant);
        wake();
      });
    },
    tryReserveSlot() {
      if (waiting.length > 0 || wait() !== 0) return null;
      take();
      return permit;
    },
    markSlotUsed() {
      running += 1;
    },
    releaseSlot(ctx) {
      used -= 1;
      // A slot released without a task (its poll ended empty) was never counted as running.
      if (ctx.slotInfo) running = Math.max(0, running - 1);
      wake();
    },
  };

  return {
    supplier,
    async duringChunk(work) {
      chunks += 1;
      try {
        return await work();
      } finally {
        chunks -= 1;
        wake();
      }
    },
    state: () => ({ available: Math.max(0, limit() - running), chunks }),
  };
}

/** An activity interceptor that holds the worker's workflow tasks back while an activity of this type runs. */
export function holdingBackDuring(activityType: string, slots: WorkflowTaskSlots): (ctx: ActivityContext) => ActivityInterceptors {
  return (ctx) => ({
    inbound: {
      execute: (input, next) => (ctx.info.activityType === activityType ? slots.duringChunk(() => next(input)) : next(input)),
    },
  });
}
