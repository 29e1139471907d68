import { describe } from 'vitest';
import { createInvitation } from '../../src/invitations/create-invitation';
import { createLogger } from '../../src/lib/log';
import { parseTokenKeys } from '../../src/lib/token-keys';
import { invitationDeps } from '../../src/main/wiring';
import { stateQuery } from '../../workflows/messages';
import { daysToMs } from '../../workflows/schedule';
import { rowsOf } from './support/invariants';
import { answerSummary, type CreateAttempt, createInvitations, faultEmail, LOAD, RETRY_FOR_MS } from './support/load';
import { faultScenario } from './support/scenario';
import { eventually, kill9, sleep, stopGracefully, waitFor } from './support/stack';

/**
 * Crashes of Usher's own processes under load. Run one alone with
 *   npx vitest run test/faults/crashes.test.ts -t "worker during sends"
 */
describe.concurrent('faults: crashes', () => {
  /**
   * kill -9 of `usher worker` while it sends: a quarter of the emails are out when the worker dies mid-conversation
   * (the SMTP server holds each message 300 ms before its 250, so sends are in flight). A new worker takes over.
   * Every invitation gets its email; one killed between the server's accept and the ledger's "sent" is sent again,
   * identical (same Message-ID, same link).
   */
  faultScenario('kill -9 of the worker during sends', { smtp: { dataDelayMs: 300 } }, async ({ stack, ledger, notes }) => {
    const creating = createInvitations(stack, ledger, { count: LOAD, phase: 'load', retryForMs: RETRY_FOR_MS });
    await waitFor('a quarter of the emails', 300_000, () => stack.smtp.messages().length >= LOAD / 4);
    const old = stack.worker;
    await kill9(old);
    notes.push(`worker ${old.pid} killed (SIGKILL) after ${stack.smtp.messages().length} of ${LOAD} emails`);
    // The API does not need the worker to answer; the creates go on.
    notes.push(`creates: ${answerSummary(await creating)}`);
    await sleep(1_000);
    await stack.startWorker();
    notes.push(`new worker ${stack.worker.pid} polling`);
  });

  /**
   * kill -9 of `usher api` in the middle of creates: 16 callers, and when half the creates have their answer the API
   * dies. The requests in flight get no answer: each must end wholly there (row, workflow, email; the reconciler of
   * the next API repairs a row whose workflow was never started) or wholly absent. A new API takes the rest.
   */
  faultScenario('kill -9 of the API during creates', {}, async ({ stack, ledger, notes }) => {
    let killing: Promise<void> | undefined;
    let answered = 0;
    const before = await createInvitations(stack, ledger, {
      count: LOAD,
      phase: 'before',
      // Once the API is dead, no new create starts until the next one is up.
      stopWhen: () => killing !== undefined,
      onAnswer: (a) => {
        if (a.status !== null && ++answered === Math.floor(LOAD / 2) && !killing) killing = kill9(stack.api);
      },
    });
    await killing;
    notes.push(`API killed (SIGKILL) after ${Math.floor(LOAD / 2)} answers; before and while it died: ${answerSummary(before)}`);
    await stack.startApi();
    const after = await createInvitations(stack, ledger, { count: LOAD - ledger.created().length, phase: 'after', retryForMs: RETRY_FOR_MS });
    notes.push(`after the restart: ${answerSummary(after)}`);
  });

  /**
   * `usher worker` restarted (SIGTERM, then a new one) exactly when LOAD invitations' first reminders fall due; a
   * fifth of the recipients' mail servers refuse the reminder with 550 after DATA. Each reminder is sent once and
   * counted once, and a refused reminder ends the invitation `bounced` instead of failing its workflow.
   *
   * The reminder schedule scales the tenant's reminder days to each invitation's TTL, and neither can be shorter than
   * a day, so the earliest possible reminder is 236.7 s after creation (day 1 of 365, on a one-day invitation).
   * Rather than wait for that, the invitations are created by Usher's own create command (row, token, audit, workflow
   * start: what `POST /v1/invitations` runs) with its clock set 191.7 s back, as if each had been created that long
   * ago: its workflow then has its first reminder 45 s after the real creation. Everything after the start (the
   * timers, the worker, the sends) runs on real time.
   */
  const REMINDER_AFTER_MS = daysToMs(1) / 365;
  const DUE_AFTER_MS = 45_000;
  const refusesReminders = (address: string) => address.startsWith('remind550-');
  faultScenario(
    'a worker restart exactly when reminders are due',
    { tenant: { defaultTtlDays: 365, reminderDays: [1] }, smtp: { rejectAtData: (a, key) => refusesReminders(a) && Boolean(key?.startsWith('reminder-')) } },
    async (ctx) => {
      const { stack, ledger, notes, extra } = ctx;
      const shift = REMINDER_AFTER_MS - DUE_AFTER_MS;
      const deps = {
        ...invitationDeps(stack.db, stack.client, { tokenKeys: parseTokenKeys(stack.env.TOKEN_SECRET!), publicBaseUrl: stack.baseUrl, taskQueue: stack.taskQueue }, createLogger('silent')),
        clock: () => new Date(Date.now() - shift),
      };
      // Like a careful client: a create that answers "unavailable" is repeated with the same Idempotency-Key.
      let next = 0;
      const created: CreateAttempt[] = [];
      const attempts: CreateAttempt[] = [];
      const errors = new Set<string>();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < LOAD; i = next++) {
            const email = faultEmail(i % 5 === 0 ? 'remind550' : 'remind');
            const giveUpAt = Date.now() + RETRY_FOR_MS;
            for (;;) {
              const at = Date.now();
              try {
                const { invitation } = await createInvitation(deps, {
                  tenantId: stack.tenant.id,
                  email,
                  role: { slug: 'member' },
                  inviterUserId: stack.tenant.owner.id,
                  expiresInDays: 1,
                  sendEmail: true,
                  origin: 'api',
                  actor: 'fault-suite',
                  idempotencyKey: `fault-${email}`,
                });
                created.push({ email, phase: 'load', status: 201, id: invitation.id, ms: Date.now() - at, retryAfter: null, at });
                break;
              } catch (err) {
                errors.add(String((err as Error).message).slice(0, 120));
                attempts.push({ email, phase: 'load', status: 503, ms: Date.now() - at, retryAfter: null, at, error: String(err) });
                if (Date.now() >= giveUpAt) break;
                await sleep(2_000);
              }
            }
          }
        }),
      );
      ledger.attempts.push(...attempts);
      ledger.attempts.push(...created);
      notes.push(`creates (the create command in-process, clock ${(shift / 1000).toFixed(1)} s back): ${answerSummary(created)}; ${attempts.length} attempts repeated${errors.size ? ` (${[...errors].slice(0, 2).join('; ')})` : ''}`);

      // Each workflow's first reminder is due REMINDER_AFTER_MS after its (shifted) created_at: restart the worker
      // when the first of them falls due.
      const due = (await rowsOf(stack)).map((r) => r.created_at.getTime() + REMINDER_AFTER_MS);
      const firstDue = Math.min(...due);
      const lastDue = Math.max(...due);
      await sleep(Math.max(0, firstDue - Date.now()));
      const old = stack.worker;
      const before = stack.smtp.messages().filter((m) => m.sendKey === 'reminder-1').length;
      notes.push(`worker ${old.pid} ${await stopGracefully(old)}; ${before} reminders out when it was told to stop; reminders due over ${((lastDue - firstDue) / 1000).toFixed(1)} s`);
      await stack.startWorker();
      notes.push(`new worker ${stack.worker.pid} polling ${((Date.now() - firstDue) / 1000).toFixed(1)} s after the first reminder fell due`);

      const expected = created.filter((c) => c.status === 201 && !refusesReminders(c.email));
      const done = await eventually(
        150_000,
        async () => {
          const reminded = new Set(stack.smtp.messages().filter((m) => m.sendKey === 'reminder-1').map((m) => m.invitationId));
          const refusedSettled = (await rowsOf(stack)).every((r) => !refusesReminders(r.email) || r.status !== 'pending');
          return expected.every((c) => reminded.has(c.id!)) && refusedSettled;
        },
        1_000,
      );
      if (!done) notes.push('not every reminder was out (or every refused one final) within 150 s');
      ctx.settleMs = 10_000;

      extra.push({
        name: 'each reminder sent once and counted once (row and state query)',
        async run() {
          const miscounted = async () => {
            const rows = new Map((await rowsOf(stack)).map((r) => [r.id, r]));
            const out: string[] = [];
            for (const c of expected) {
              const copies = new Set(stack.smtp.messages().filter((m) => m.invitationId === c.id && m.sendKey?.startsWith('reminder-')).map((m) => m.messageId));
              const row = rows.get(c.id!);
              const state = await stack.client.workflow.getHandle(row!.workflow_id).query(stateQuery).catch(() => undefined);
              if (copies.size !== 1 || row?.reminders_sent !== 1 || state?.remindersSent !== 1) {
                out.push(`${c.id!.slice(-8)}: ${copies.size} reminders delivered, row counts ${row?.reminders_sent}, workflow counts ${state?.remindersSent ?? '?'}`);
              }
            }
            return out;
          };
          // The row and the workflow count a reminder a moment after the mail server has it (its ledger transaction,
          // then the local activity's return), so a count still behind is given time; a second copy never goes away.
          await eventually(30_000, async () => (await miscounted()).length === 0, 500);
          return miscounted();
        },
      });
      extra.push({
        name: 'a reminder refused with 550 ends the invitation bounced',
        run: async () => (await rowsOf(stack)).filter((r) => refusesReminders(r.email) && r.status !== 'bounced').map((r) => `${r.id.slice(-8)}: reminder refused, status ${r.status}`),
      });
    },
  );
});
