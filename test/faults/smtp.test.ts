import { describe } from 'vitest';
import { rowsOf } from './support/invariants';
import { answerSummary, createInvitations, faultEmail, LOAD, RETRY_FOR_MS } from './support/load';
import { faultScenario } from './support/scenario';
import { eventually, sleep } from './support/stack';

const atRcpt = (address: string) => address.startsWith('rcpt550-');
const atData = (address: string) => address.startsWith('data550-');
const SEND_HEARTBEAT_TIMEOUT_MS = 30_000;

const summarize = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => ((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000).toFixed(1);
  return sorted.length ? `${at(0)}–${at(1)} s (median ${at(0.5)} s, ${sorted.length} connections)` : 'no connection';
};

/**
 * The mail server misbehaving under load; the SMTP server is the scenario's own (test/faults/support/smtp.ts). Run
 * one alone with
 *   npx vitest run test/faults/smtp.test.ts -t 421
 */
describe.concurrent('faults: SMTP', () => {
  /**
   * The mail server answers every connection with 421 (service not available) for a minute, then 250. A 4xx is
   * temporary: the sends are retried with backoff, nothing ends bounced or failed, and once the server accepts, every
   * invitation gets its email once (identical if resent).
   */
  faultScenario(
    'SMTP answering 421 for a minute then 250',
    {},
    async (ctx) => {
      const { stack, ledger, notes, extra } = ctx;
      stack.smtp.setMode('tempfail');
      const from = Date.now();
      notes.push(`creates: ${answerSummary(await createInvitations(stack, ledger, { count: LOAD, phase: 'load', retryForMs: RETRY_FOR_MS }))}`);
      await sleep(Math.max(0, 60_000 - (Date.now() - from)));
      const statuses = new Map<string, number>();
      for (const r of await rowsOf(stack)) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const during = stack.smtp.counts();
      notes.push(`after ${Math.round((Date.now() - from) / 1000)} s of 421 (${during.tempfailed} connections refused, ${during.delivered} delivered): rows ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}`);
      stack.smtp.setMode('accept');
      const switched = Date.now();
      ctx.settleMs = 240_000;
      extra.push(
        {
          name: 'a 4xx is retried, never final',
          run: async () => (await rowsOf(stack)).filter((r) => r.status !== 'pending').map((r) => `${r.id.slice(-8)}: ${r.status}`),
        },
        {
          name: 'nothing delivered while the server said 421',
          run: () => (during.delivered === 0 ? [] : [`${during.delivered} messages delivered during the 421 minute`]),
        },
      );
      ctx.atRest = () => {
        const last = Math.max(0, ...stack.smtp.messages().map((m) => m.receivedAt));
        notes.push(`last email ${((last - switched) / 1000).toFixed(0)} s after the server started answering 250`);
      };
    },
  );

  /**
   * The mail server refuses a third of the recipients with 550 at RCPT TO and another third with 550 after the message
   * (end of DATA), the rest are accepted. A 5xx at any stage is final: the invitation ends `bounced`, with no retry
   * storm and no workflow left failed.
   */
  faultScenario('SMTP 550 at RCPT and at DATA', { smtp: { rejectAtRcpt: atRcpt, rejectAtData: atData } }, async (ctx) => {
    const { stack, ledger, notes, extra } = ctx;
    const kinds = ['rcpt550', 'data550', 'ok'];
    notes.push(`creates: ${answerSummary(await createInvitations(stack, ledger, { count: LOAD, phase: 'load', retryForMs: RETRY_FOR_MS, email: (i) => faultEmail(kinds[i % 3]!) }))}`);
    const rejected = (email: string) => atRcpt(email) || atData(email);
    const settled = await eventually(90_000, async () => (await rowsOf(stack)).every((r) => !rejected(r.email) || r.status !== 'pending'), 1_000);
    const c = stack.smtp.counts();
    notes.push(`${c.rejectedRcpt} refusals at RCPT, ${c.rejectedData} at DATA, ${c.delivered} delivered${settled ? '' : '; some refused invitations still pending after 90 s'}`);
    ctx.settleMs = 30_000;
    const endsBounced = (stage: string, match: (e: string) => boolean) => async () =>
      (await rowsOf(stack)).filter((r) => match(r.email) && r.status !== 'bounced').map((r) => `${r.id.slice(-8)}: 550 at ${stage}, status ${r.status}`);
    extra.push({ name: '550 at RCPT → bounced', run: endsBounced('RCPT', atRcpt) }, { name: '550 at DATA → bounced', run: endsBounced('DATA', atData) });
  });

  /**
   * A mail server that accepts the TCP connection and never says a word (no greeting, no timeout of its own) for 45 s,
   * then a healthy one. Usher's own SMTP timeouts must end each attempt well within the activity's timeout, so no
   * abandoned attempt lives on beside its retry; the invitations wait, pending, and are then delivered once.
   */
  faultScenario('SMTP that accepts the connection and never answers', {}, async (ctx) => {
    const { stack, ledger, notes, extra } = ctx;
    stack.smtp.setMode('hang');
    const from = Date.now();
    notes.push(`creates: ${answerSummary(await createInvitations(stack, ledger, { count: LOAD, phase: 'load', retryForMs: RETRY_FOR_MS }))}`);
    await sleep(Math.max(0, 45_000 - (Date.now() - from)));

    // How the attempts so far ended, for the notes: by an SMTP timeout of Usher's own (an application failure), or by
    // Temporal's activity timeout. Temporal also times out an attempt whose heartbeats reached it late on a loaded
    // machine, its conversation long over; what the scenario promises is measured at the server (below): no
    // conversation outlives its attempt.
    const endings = new Map<string, number>();
    for (const r of await rowsOf(stack)) {
      const { raw } = await stack.client.workflow.getHandle(r.workflow_id).describe();
      for (const a of raw.pendingActivities ?? []) {
        const f = a.lastFailure;
        if (!f) continue;
        const kind = f.timeoutFailureInfo ? `timeout ${f.timeoutFailureInfo.timeoutType}` : (f.applicationFailureInfo?.type ?? 'failure');
        endings.set(kind, (endings.get(kind) ?? 0) + 1);
      }
    }
    const c = stack.smtp.counts();
    notes.push(`after ${Math.round((Date.now() - from) / 1000)} s of silence: ${c.hung} connections held, attempts ended by ${[...endings].map(([k, n]) => `${k}×${n}`).join(', ') || 'nothing yet'}`);
    stack.smtp.setMode('accept');
    ctx.settleMs = 240_000;
    extra.push(
      {
        // Temporal gives an attempt up when its heartbeats stop for the send's heartbeat timeout (30 s,
        // workflows/invitation.ts) and schedules the retry; a conversation still open then would live beside it.
        name: "a silent server is hung up on by Usher's SMTP timeouts, before the activity's",
        run: () => {
          const { closedAfterMs, open } = stack.smtp.silentConnections();
          return [
            ...closedAfterMs.filter((ms) => ms >= SEND_HEARTBEAT_TIMEOUT_MS).map((ms) => `a silent connection stayed open ${(ms / 1000).toFixed(1)} s`),
            ...(open ? [`${open} silent connections still open, minutes after the server spoke again`] : []),
          ];
        },
      },
      { name: 'a silent server is not final', run: async () => (await rowsOf(stack)).filter((r) => r.status !== 'pending').map((r) => `${r.id.slice(-8)}: ${r.status}`) },
    );
    ctx.atRest = () => {
      notes.push(`silent connections hung up on by Usher after ${summarize(stack.smtp.silentConnections().closedAfterMs)}`);
    };
  });
});
