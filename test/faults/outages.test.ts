import { describe } from 'vitest';
import { answerSummary, createInvitations, LOAD, RETRY_FOR_MS } from './support/load';
import { type OutageResult, outageChecks, runOutage } from './support/outage';
import { faultScenario } from './support/scenario';

/**
 * A dependency stopped for 30 s with LOAD invitations in flight, then started again on the same data. Each scenario
 * has servers of its own (never the run's shared ones). Run one alone with
 *   npx vitest run test/faults/outages.test.ts -t Temporal
 */
describe.concurrent('faults: outages', () => {
  /**
   * The Temporal server (a dev server on its own SQLite file) stopped. Nothing answered 201 may be lost; creates
   * during the outage answer 503 at once and leave nothing behind (or, after a start that timed out, a row the
   * reconciler completes).
   */
  faultScenario('Temporal stopped 30 s then restarted', { ownTemporal: true }, async ({ stack, ledger, notes, extra }) => {
    notes.push(`before: creates ${answerSummary(await createInvitations(stack, ledger, { count: LOAD, phase: 'before', retryForMs: RETRY_FOR_MS }))}, ${stack.smtp.messages().length} emails out`);
    let result: OutageResult | undefined;
    extra.push(...outageChecks(() => result!));
    result = await runOutage(stack, ledger, notes, { name: 'Temporal', stop: () => stack.temporal!.stop(), start: () => stack.temporal!.start() }, 30_000);
  });

  /**
   * PostgreSQL (a server on its own data folder) stopped. Activities retry until it is back; creates during the
   * outage answer 503, not 500, and fast.
   */
  faultScenario('PostgreSQL stopped 30 s then restarted', { ownPostgres: true }, async ({ stack, ledger, notes, extra }) => {
    notes.push(`before: creates ${answerSummary(await createInvitations(stack, ledger, { count: LOAD, phase: 'before', retryForMs: RETRY_FOR_MS }))}, ${stack.smtp.messages().length} emails out`);
    let result: OutageResult | undefined;
    extra.push(...outageChecks(() => result!));
    result = await runOutage(stack, ledger, notes, { name: 'PostgreSQL', stop: () => stack.postgres!.stop(), start: () => stack.postgres!.start() }, 30_000);
  });
});
