import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../activities/index';
import type { InvitationBatchInput } from './messages';

// A chunk is a second or two of database and Temporal calls; retried chunks skip the rows already done.
const batch = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The chunk size of a batch whose input names none: every batch started before chunks grew to 250 rows. */
const FIRST_CHUNK_ROWS = 100;

/** Works through a bulk upload chunk by chunk (a 10,000-row batch is 40 activities, far below history limits). */
export async function invitationBatchWorkflow(input: InvitationBatchInput): Promise<void> {
  const chunkRows = input.chunkRows ?? FIRST_CHUNK_ROWS;
  for (let from = 1; from <= input.total; from += chunkRows) {
    const to = Math.min(input.total, from + chunkRows - 1);
    // What the Temporal UI shows: how far the batch is, and which rows each activity works on.
    setCurrentDetails(`Rows ${from - 1} of ${input.total} done`);
    await batch.processBatchChunk.executeWithOptions({ summary: `rows ${from}–${to} of ${input.total}` }, [{ batchId: input.batchId, from, to }]);
  }
  setCurrentDetails(`Rows ${input.total} of ${input.total} done`);
  await batch.completeBatch.executeWithOptions({ summary: 'complete the batch' }, [{ batchId: input.batchId }]);
}
