import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'vitest';
import { type Check, checkInvariants, rowsOf, type ScenarioReport, settle } from './invariants';
import { answerSummary, LOAD, Ledger } from './load';
import { type FaultStack, type FaultStackOptions, startFaultStack } from './stack';

export interface ScenarioContext {
  stack: FaultStack;
  ledger: Ledger;
  /** Lines for the report: what was done and measured. */
  notes: string[];
  /** The scenario's own promises, checked with the invariants. */
  extra: Check[];
  /** How long to wait for the scenario to come to rest before checking (default 300 s); 0 skips the wait. */
  settleMs?: number;
  /** Runs once the scenario is at rest, before the checks (for notes on how it got there). */
  atRest?: () => Promise<void> | void;
}

/**
 * One fault scenario as one test: bring up its process tree, run the fault under load, wait for rest, check every
 * invariant over every invitation, add a row to the suite's table, and fail on any broken invariant. The table
 * collects the rows of every fault file of this vitest run (files run in separate workers, so it lives in a file
 * named after the run's main process); each file prints it as it stands after its own row.
 */
export function faultScenario(name: string, options: Omit<FaultStackOptions, 'scenario'>, body: (ctx: ScenarioContext) => Promise<void>, timeoutMs = 600_000): void {
  // Concurrent with the other scenarios of its file (inside `describe.concurrent`): most of a scenario is waiting
  // out its fault, and two vitest workers would otherwise spend the suite's minutes doing just that.
  it(name, async ({ expect }) => {
    const startedAt = Date.now();
    let report: ScenarioReport;
    let stack: FaultStack | undefined;
    try {
      stack = await startFaultStack({ scenario: name, ...options });
      const ctx: ScenarioContext = { stack, ledger: new Ledger(), notes: [], extra: [] };
      await body(ctx);
      if (ctx.settleMs !== 0) {
        const unsettled = await settle(stack, ctx.settleMs ?? 300_000);
        if (unsettled) ctx.notes.push(`not at rest after ${Math.round((ctx.settleMs ?? 300_000) / 1000)} s: ${unsettled}`);
      }
      await ctx.atRest?.();
      for (const p of [stack.api, stack.worker]) {
        if (p.child.exitCode !== null && p.child.signalCode === null) ctx.notes.push(`usher ${p.name} exited by itself (${p.child.exitCode}): ${p.tail(3).slice(-600)}`);
      }
      // Not an invariant but what makes the others mean something: the scenario had its load.
      ctx.extra.unshift({
        name: `load: ≥ ${LOAD} invitations in flight`,
        run: async () => {
          const made = (await rowsOf(stack!)).length;
          return made >= LOAD ? [] : [`only ${made} invitations were created (creates: ${answerSummary(ctx.ledger.attempts)})`];
        },
      });
      report = await checkInvariants(stack, ctx.ledger, { extra: ctx.extra, notes: ctx.notes, startedAt });
    } catch (err) {
      record({
        scenario: name,
        invitations: 0,
        emails: 0,
        duplicateCopies: 0,
        results: [{ name: 'scenario ran', held: false, failures: [String((err as Error).message ?? err).slice(0, 500)] }],
        notes: stack ? [`api's last lines: ${stack.api?.tail(3).slice(-600)}`, `worker's last lines: ${stack.worker?.tail(3).slice(-600)}`] : [],
        seconds: Math.round((Date.now() - startedAt) / 1000),
      });
      throw err;
    } finally {
      await stack?.stop();
    }
    record(report);
    const broken = report.results.filter((r) => !r.held).map((r) => `${r.name}:\n    ${r.failures.join('\n    ')}`);
    expect(broken, `broken invariants in "${name}"`).toEqual([]);
  }, timeoutMs);
}

const tableFile = path.join(os.tmpdir(), 'usher-faults', `run-${process.ppid}.jsonl`);

function record(report: ScenarioReport): void {
  mkdirSync(path.dirname(tableFile), { recursive: true });
  appendFileSync(tableFile, `${JSON.stringify(report)}\n`);
  const reports = readFileSync(tableFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ScenarioReport);
  console.log(formatTable(reports, report));
}

export function formatTable(reports: ScenarioReport[], latest?: ScenarioReport): string {
  const header = ['scenario', 'invitations', 'emails', 'held', 'broke'];
  const rows = reports.map((r) => {
    const held = r.results.filter((x) => x.held).length;
    const broke = r.results.filter((x) => !x.held).map((x) => x.name);
    return [
      r.scenario,
      String(r.invitations),
      r.duplicateCopies ? `${r.emails} (${r.duplicateCopies} resent)` : String(r.emails),
      `${held}/${r.results.length}`,
      broke.length ? broke.join('; ') : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 4 ? 0 : r[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === 4 ? c : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [`\nfault suite (${LOAD} invitations per scenario), ${reports.length} scenario(s) so far in this run`, line(header), ...rows.map(line)];
  if (latest) {
    out.push('', `${latest.scenario} (${latest.seconds} s):`);
    for (const n of latest.notes) out.push(`  note: ${n}`);
    for (const r of latest.results) {
      out.push(`  ${r.held ? 'held ' : 'BROKE'} ${r.name}`);
      for (const f of r.failures) out.push(`        ${f}`);
    }
  }
  return out.join('\n');
}
