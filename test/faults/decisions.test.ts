import { describe } from 'vitest';
import { rowsOf } from './support/invariants';
import { firstLinks } from './support/links';
import { answerSummary, createInvitations, LOAD, RETRY_FOR_MS } from './support/load';
import { faultScenario } from './support/scenario';
import { type Answer, eventually } from './support/stack';

const LINKS = 10;
const ACCEPTS = 20;
const PAIRS = 20;

/**
 * Decisions racing one another under load. Run one alone with
 *   npx vitest run test/faults/decisions.test.ts -t "revoke racing"
 */
describe.concurrent('faults: racing decisions', () => {
  /**
   * 20 concurrent accepts of one link, for 10 links at once, while the rest of the load is still being created and
   * sent: one accept wins per link, the others are told the invitation is no longer pending (409) or the link used (410), the role is granted
   * once and the inviter told once.
   */
  faultScenario('20 concurrent accepts of one link', {}, async ({ stack, ledger, notes, extra }) => {
    const creating = createInvitations(stack, ledger, { count: LOAD, phase: 'load', retryForMs: RETRY_FOR_MS });
    const links = await firstLinks(stack, LINKS);
    const answers = await Promise.all(
      links.map(async (link) => ({
        link,
        answers: await Promise.all(Array.from({ length: ACCEPTS }, () => stack.request('/v1/invitations/accept', { json: { token: link.token }, key: null }))),
      })),
    );
    notes.push(`creates: ${answerSummary(await creating)}`);
    const tally = (list: Answer[]) => {
      const m = new Map<string, number>();
      for (const a of list) m.set(String(a.status ?? 'none'), (m.get(String(a.status ?? 'none')) ?? 0) + 1);
      return [...m].map(([s, n]) => `${s}×${n}`).join(' ');
    };
    notes.push(`${LINKS} links × ${ACCEPTS} accepts: ${tally(answers.flatMap((a) => a.answers))}, slowest ${Math.max(...answers.flatMap((a) => a.answers.map((x) => x.ms)))} ms`);
    extra.push({
      name: 'one accept wins per link, the rest answer 409 or 410',
      async run() {
        const rows = new Map((await rowsOf(stack)).map((r) => [r.id, r]));
        return answers.flatMap(({ link, answers: list }) => {
          const wins = list.filter((a) => a.status === 200).length;
          const others = list.filter((a) => a.status !== 200 && a.status !== 409 && a.status !== 410);
          const out: string[] = [];
          if (wins !== 1) out.push(`${link.invitationId.slice(-8)}: ${wins} accepts succeeded (${tally(list)})`);
          if (others.length) out.push(`${link.invitationId.slice(-8)}: ${others.length} answers neither 200 nor 409/410 (${tally(others)})`);
          if (rows.get(link.invitationId)?.status !== 'accepted') out.push(`${link.invitationId.slice(-8)}: row is ${rows.get(link.invitationId)?.status}`);
          return out;
        });
      },
    });
    extra.push({
      name: 'the inviter is told once per accepted invitation',
      async run() {
        // The notice goes out after the decision, from the workflow's main loop: give it its time.
        const notices = (id: string) => new Set(stack.smtp.messages().filter((m) => m.invitationId === id && m.sendKey === 'notify-accepted').map((m) => m.messageId)).size;
        const accepted = new Set((await rowsOf(stack)).filter((r) => r.status === 'accepted').map((r) => r.id));
        await eventually(120_000, () => [...accepted].every((id) => notices(id) >= 1), 1_000);
        return links.flatMap((link) => {
          const expected = accepted.has(link.invitationId) ? 1 : 0;
          return notices(link.invitationId) === expected ? [] : [`${link.invitationId.slice(-8)}: ${notices(link.invitationId)} acceptance notices (${expected ? 'accepted' : 'not accepted'})`];
        });
      },
    });
  });

  /**
   * A revoke (the tenant's API key) racing an accept (the invitee's link) on 20 invitations at once, under load:
   * exactly one of the two wins, the row says which, the other is told 409 (or 410, a revoked link), and a role is granted only to an accept
   * that won.
   */
  faultScenario('a revoke racing an accept', {}, async ({ stack, ledger, notes, extra }) => {
    const creating = createInvitations(stack, ledger, { count: LOAD, phase: 'load', retryForMs: RETRY_FOR_MS });
    const links = await firstLinks(stack, PAIRS);
    const races = await Promise.all(
      links.map(async (link) => {
        const [revoke, accept] = await Promise.all([
          stack.request(`/v1/invitations/${link.invitationId}/revoke`, { json: { reason: 'race' } }),
          stack.request('/v1/invitations/accept', { json: { token: link.token }, key: null }),
        ]);
        return { link, revoke, accept };
      }),
    );
    notes.push(`creates: ${answerSummary(await creating)}`);
    const winners = races.map((r) => (r.revoke.status === 200 ? 'revoke' : r.accept.status === 200 ? 'accept' : 'none'));
    notes.push(`${PAIRS} races: revoke won ${winners.filter((w) => w === 'revoke').length}, accept won ${winners.filter((w) => w === 'accept').length}; answers ${races.map((r) => `${r.revoke.status}/${r.accept.status}`).join(' ')}`);
    extra.push({
      name: 'exactly one of revoke and accept wins, the other answers 409/410, the row says which',
      async run() {
        const rows = new Map((await rowsOf(stack)).map((r) => [r.id, r]));
        return races.flatMap(({ link, revoke, accept }) => {
          const id = link.invitationId.slice(-8);
          const wins = [revoke.status === 200 && 'revoked', accept.status === 200 && 'accepted'].filter(Boolean);
          const status = rows.get(link.invitationId)?.status;
          if (wins.length !== 1) return [`${id}: revoke ${revoke.status ?? 'none'}, accept ${accept.status ?? 'none'}, row ${status}`];
          const loser = wins[0] === 'revoked' ? accept : revoke;
          if (loser.status !== 409 && loser.status !== 410) return [`${id}: the losing ${wins[0] === 'revoked' ? 'accept' : 'revoke'} answered ${loser.status ?? 'nothing'}`];
          return status === wins[0] ? [] : [`${id}: ${wins[0]} won but the row is ${status}`];
        });
      },
    });
  });
});
