/**
 * The bare baselines' workflows: what Temporal alone costs for the shape of an invitation, with nothing of Usher's in
 * it. Run by bench/bare/worker.ts on a task queue of their own.
 */
import { condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler, sleep } from '@temporalio/workflow';
import type { BareActivities } from './activities';

/** A step as it appears in Usher's history: a scheduled activity, or a local activity (a marker). */
export type StepKind = 'activity' | 'local';

/** How many steps an invitation runs before the accept, inside it, and after it (counted from a real history). */
export interface LifecycleShape {
  before: StepKind[];
  accept: StepKind[];
  after: StepKind[];
}

export const bareAcceptUpdate = defineUpdate<{ accepted: true }, []>('accept');

const activity = proxyActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });
const step = (kind: StepKind) => (kind === 'local' ? local.noop() : activity.noop());

/** R1/R2's baseline: a workflow that does nothing. */
export async function benchNoop(): Promise<void> {}

/**
 * R2's floor: a workflow that stays open on a timer, as every pending invitation does, and does nothing else. What
 * Temporal alone costs for a row that waits, against a no-op that starts and completes.
 */
export async function benchWait(): Promise<void> {
  await sleep('30 days');
}

/** R3's baseline: the same number of steps as Usher's create → accept, each doing nothing, and an accept update. */
export async function benchLifecycle(shape: LifecycleShape): Promise<void> {
  let ready = false;
  let accepted = false;
  setHandler(bareAcceptUpdate, async () => {
    // Usher's caller waits for the email (the last step before the accept); here the update waits for that step.
    await condition(() => ready);
    for (const kind of shape.accept) await step(kind);
    accepted = true;
    return { accepted: true as const };
  });
  for (const kind of shape.before) await step(kind);
  ready = true;
  await condition(() => accepted);
  for (const kind of shape.after) await step(kind);
}
