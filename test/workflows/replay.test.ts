import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

// Histories recorded from the lifecycle scenarios (USHER_RECORD_HISTORIES=test/workflows/histories npx vitest run
// test/workflows/lifecycle.test.ts). They stay as they were recorded: a workflow change that cannot replay them would
// break invitations already running, and needs `patched()` instead.
//
// Which file recorded which fixture; never re-record one over an older file: the old command sequence is what it guards.
//   lifecycle.test.ts (before any patch): accept, decline, edited, expire, late, link-only, resend, revoke,
//     seven-days, shortened, too-late
//   mail-failures.test.ts (patch 'failures-settle-the-invitation', 'resend-mail-after-decision'): always-421,
//     broken-step, data-554, notice-invitee, reminder-550, resend-bounce
//   decisions.test.ts (decisions waiting their turn, the busy timer): accept-old-link, busy, revoke-after-resend,
//     revoke-during-accept, ten-resends; then with each decision's answerBy: busy-answer-by, twenty-accepts
//   all three again with patch 'merged-steps' (one opening activity, one accept activity, the timer kept across
//     decisions): merged-*
//   lifecycle.test.ts, an invitation a bulk chunk opened before its start (input `opened`): opened-expire
//   all three again with input `version: 1` (the merged steps without asking `patched()`, so without markers): v1-*
const dir = path.join(import.meta.dirname, 'histories');

async function recorded() {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.history.pb')).sort();
  return Promise.all(
    files.map(async (file) => ({ file, bytes: await readFile(path.join(dir, file)) })),
  );
}

describe('workflow histories recorded earlier', () => {
  it('all replay against the current workflow code', async () => {
    const histories = await recorded();
    expect(histories.length).toBeGreaterThanOrEqual(78);
    const workflowBundle = { code: await readFile(inject('workflowBundlePath'), 'utf8') };
    const inputs = histories.map(({ file, bytes }) => ({ workflowId: file, history: temporal.api.history.v1.History.decode(bytes) }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, inputs)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('carry no accept link and no token, only ids', async () => {
    for (const { file, bytes } of await recorded()) {
      const text = bytes.toString('latin1');
      expect(text, file).not.toMatch(/\/invite\/[A-Za-z0-9_-]{43}/);
      expect(text, file).not.toMatch(/token=[A-Za-z0-9_-]{43}/);
    }
  });
});
