/**
 * npm run bench: Usher against bare Temporal, each pair measured in this one run at the same concurrency, on the real
 * stack (bench/stack.ts). Prints one table of every figure, its baseline, the ratio and the target (issue 12), and
 * writes the figures as JSON (BENCH_OUT, default bench/results/latest.json) for the chart (bench/chart.py).
 *
 *   BENCH_N            creates per side in R1's closed loop (1000)
 *   BENCH_CONCURRENCY  callers in the closed loops (32)
 *   BENCH_OPEN_SECONDS length of each open-loop point (15)
 *   BENCH_BULK         rows in R2's upload (10000)
 *   BENCH_LIFECYCLES   create → accept lifecycles per side in R3 (300)
 *   BENCH_SCALE        pending invitations R6 piles up (10000; 100000 is the opt-in large run)
 *   BENCH_PROBES       sequential creates at empty and at scale (100); 10× as many lookups, 5× list pages and gets, 4× accepts
 *   BENCH_DEV=0        skips `usher dev`'s idle RSS
 *   BENCH_PROFILE=r1|r2  runs `usher api` and `usher worker` with --cpu-prof for that phase and prints where the time went
 *   BENCH_NODE_ARGS    node flags for `usher api` and `usher worker`, space-separated (the image's NODE_OPTIONS)
 *   BENCH_FROM_SOURCE=1  runs `usher api` and `usher worker` from source (tsx) instead of the production build, as the
 *                      image does (a smoke run and BENCH_PROFILE always run from source)
 *   BENCH_SMOKE=1      a few dozen invitations through every phase: proves the bench runs, measures nothing
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bigTableSeqScans, counterDelta, type DbCounters, dbCounters, type PlanCheck, planChecks, resetStatements, restDatabase, type Statement, statements } from './db-stats';
import { type DevRss, measureDevIdleRss, withBuild } from './dev-rss';
import { expiryHistory, type HistorySummary, historyOf } from './history';
import { type ClosedLoopResult, closedLoop, type Latencies, type OpenLoopResult, openLoop, sampler, sleep } from './load';
import { counterDeltas, scrape, type TaskLatency, taskLatencies } from './metrics';
import { formatProfile, summarizeProfile } from './profile';
import { measureRendering, type RenderResult } from './render';
import { type BenchStack, cpuSeconds, root, startBenchStack } from './stack';
import { tokenOf, usherApi } from './usher-api';

const env = process.env;
/** BENCH_NODE_ARGS: flags `usher api` and `usher worker` run with; by default the image's, read from the Dockerfile. */
const nodeArgs = (env.BENCH_NODE_ARGS ?? imageNodeOptions()).split(' ').filter(Boolean);
const smoke = env.BENCH_SMOKE === '1';
const num = (name: string, full: number, small: number) => Number(env[name] ?? (smoke ? small : full));
const cfg = {
  n: num('BENCH_N', 1000, 40),
  concurrency: num('BENCH_CONCURRENCY', 32, 8),
  openSeconds: num('BENCH_OPEN_SECONDS', 15, 2),
  sweep: smoke ? [0.5] : [0.25, 0.5, 0.75, 1],
  bulk: num('BENCH_BULK', 10_000, 30),
  lifecycles: num('BENCH_LIFECYCLES', 300, 10),
  scale: num('BENCH_SCALE', 10_000, 40),
  probes: num('BENCH_PROBES', 100, 5),
  devIdleSeconds: num('BENCH_DEV_IDLE_SECONDS', 20, 2),
  dev: env.BENCH_DEV !== '0',
  /** `usher dev` from the production build too (a build of a few seconds); off in the smoke run. */
  devBuild: env.BENCH_DEV_BUILD ? env.BENCH_DEV_BUILD !== '0' : !smoke,
  profile: env.BENCH_PROFILE as 'r1' | 'r2' | undefined,
  // Profiles name source files; a smoke run in the suite skips the build's 20 s.
  fromSource: env.BENCH_FROM_SOURCE === '1' || smoke || env.BENCH_PROFILE !== undefined,
  out: path.resolve(env.BENCH_OUT ?? (smoke ? path.join(os.tmpdir(), `usher-bench-smoke-${process.pid}.json`) : path.join(root, 'bench/results/latest.json'))),
};

const say = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${os.loadavg()[0]!.toFixed(1)}] ${line}\n`);
const fmtMs = (v: number) => (Number.isFinite(v) ? (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`) : 'n/a');
const fmtRate = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)}/s`;

interface Row {
  id: string;
  figure: string;
  bare: string;
  usher: string;
  ratio: string;
  target: string;
  met: boolean | null;
}

/** `build`: the production build's folder (npm run build) that `usher api`, `usher worker` and `usher dev` run from. */
async function main(build?: string): Promise<void> {
  const runId = randomBytes(3).toString('hex');
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  say(`config ${JSON.stringify({ ...cfg, out: undefined })}`);

  // R4 first, before anything else of ours runs on the two cores.
  say('R4 rendering');
  const render: RenderResult = await measureRendering({ compiled: smoke ? 200 : 5000, mjml: smoke ? 5 : 100 });

  say('starting the stack');
  const stack = await startBenchStack({ log: say, nodeArgs, entry: build ? ['--enable-source-maps', path.join(build, 'cli.js')] : undefined });
  const api = usherApi(stack.baseUrl, stack.apiKey);
  const { client, mail } = stack;
  const loads: Record<string, number> = {};
  const undrained: string[] = [];
  const rss = sampler(1000, () => ({ api: stack.api.rssMiB(), worker: stack.worker.rssMiB() }));
  const pending = async () => Number((await stack.admin.query(`/* bench-own */ select count(*)::int as n from invitations where status = 'pending'`)).rows[0].n);
  let created = 0;
  const create = async (email: string) => {
    const result = await api.create(email);
    created++;
    return result;
  };
  const bareStart = (prefix: string, workflow: 'benchNoop' | 'benchWait' = 'benchNoop') => (i: number) =>
    client.workflow.start(workflow, { taskQueue: stack.bareQueue, workflowId: `bare-${prefix}-${runId}-${i}`, args: [] });
  /** Waits until every email of a tag is in, then a moment for the worker's last steps. */
  const drain = async (tag: string, n: number) => {
    try {
      await mail.waitForCount(tag, n, Math.max(300_000, n * 500));
    } catch (err) {
      // A backlog left over is reported, not fatal: the next phase starts on a busier system, which the table says.
      say(`drain: ${err instanceof Error ? err.message : String(err)}`);
      undrained.push(tag);
    }
    await sleep(smoke ? 200 : 2000);
  };

  try {
    // Warm-up: JIT, pools, the worker's workflow cache and sticky queues, for both sides.
    say('warm-up');
    await closedLoop(smoke ? 8 : 60, 8, (i) => create(`warm-${i}@bench.example`));
    await closedLoop(smoke ? 8 : 60, 8, bareStart('warm'));
    await drain('warm', smoke ? 8 : 60);

    // R6 at empty: the figures the pile must not move.
    say('R6 probes on the empty system');
    const empty = await probes(stack, 'r6e', cfg.probes, create);
    const emptyRss = { api: stack.api.rssMiB(), worker: stack.worker.rssMiB() };

    // R5: one create → accept history, from the probes (accepted above); its steps are the bare lifecycle's shape.
    say('R5 create → accept history');
    await within(120_000, 'the accepted invitation to complete', client.workflow.getHandle(`invitation-${empty.acceptedIds[0]}`).result());
    const acceptHistory = await historyOf(client, empty.acceptedIds[0]!);

    // R1 closed loop: bare starts, then creates, 32 callers each.
    if (cfg.profile === 'r1') await profileFromHere(stack, 'r1');
    // Each baseline starts on a quiet system: a backlog Usher's phase left behind would slow the bare side too.
    await quiet(stack, 'R1');
    say(`R1 closed loop: ${cfg.n} bare starts at ${cfg.concurrency}`);
    loads.r1 = os.loadavg()[0]!;
    const r1BareCpu = bareCpu(stack);
    const r1Bare = await closedLoop(cfg.n, cfg.concurrency, bareStart('r1'));
    const r1BareCost = await r1BareCpu.per(r1Bare.n);
    say(`R1 closed loop: ${cfg.n} creates at ${cfg.concurrency}`);
    const r1Before = await phaseStart(stack);
    const r1Usher = await closedLoop(cfg.n, cfg.concurrency, (i) => create(`r1c-${i}@bench.example`));
    await drain('r1c', r1Usher.n);
    const r1Costs = await phaseEnd(stack, r1Before, r1Usher.n);
    if (cfg.profile === 'r1') await stack.restartUsher(nodeArgs);

    // R1 again with the worker stopped (SIGSTOP): what the API, PostgreSQL and Temporal's starts alone carry on these
    // cores, the ceiling of the rate above however cheap the worker's part becomes. Its workflow tasks wait meanwhile.
    await quiet(stack, 'R1 with the worker paused');
    say(`R1 closed loop: ${cfg.n} creates at ${cfg.concurrency}, the worker paused`);
    const r1PausedBefore = await phaseStart(stack);
    process.kill(stack.worker.pid, 'SIGSTOP');
    let r1Paused: ClosedLoopResult;
    let r1PausedCpu: Cpu;
    try {
      r1Paused = await closedLoop(cfg.n, cfg.concurrency, (i) => create(`r1p-${i}@bench.example`));
      r1PausedCpu = cpuNow(stack);
    } finally {
      process.kill(stack.worker.pid, 'SIGCONT');
    }
    // Read once the worker runs again (it answers /metrics); the CPU as it was while it was stopped.
    const r1PausedCosts = await phaseEnd(stack, r1PausedBefore, r1Paused.n, r1PausedCpu);
    await drain('r1p', r1Paused.n);

    // R1 open loop: the same offered rates for both sides, as fractions of the bare closed-loop rate.
    const sweep: { fraction: number; offered: number; bare: OpenLoopResult; usher: OpenLoopResult; shed: number }[] = [];
    for (const fraction of cfg.sweep) {
      const offered = Math.max(1, r1Bare.rate * fraction);
      await quiet(stack, `R1 open loop at ${fraction}`);
      say(`R1 open loop at ${fmtRate(offered)} (${fraction} of the bare rate)`);
      const bare = await openLoop(offered, cfg.openSeconds, bareStart(`open${fraction}`));
      await sleep(1000);
      const tag = `r1o${String(fraction).replace('.', '')}`;
      const shedBefore = api.shed;
      const usher = await openLoop(offered, cfg.openSeconds, (i) => create(`${tag}-${i}@bench.example`));
      const shed = api.shed - shedBefore;
      await drain(tag, usher.n);
      sweep.push({ fraction, offered, bare, usher, shed });
    }
    const half = sweep.find((p) => p.fraction === 0.5)!;

    // R3: whole lifecycles, bare and Usher, at the same concurrency.
    const shape = acceptHistory.shape;
    await quiet(stack, 'R3');
    say(`R3 lifecycle: ${cfg.lifecycles} bare (${shape.before.length}+${shape.accept.length}+${shape.after.length} steps)`);
    loads.r3 = os.loadavg()[0]!;
    const r3BareCpu = bareCpu(stack);
    const r3Bare = await closedLoop(cfg.lifecycles, cfg.concurrency, async (i) => {
      const handle = await client.workflow.start('benchLifecycle', { taskQueue: stack.bareQueue, workflowId: `bare-r3-${runId}-${i}`, args: [shape] });
      await handle.executeUpdate('accept', { args: [] });
    });
    const r3BareCost = await r3BareCpu.per(r3Bare.n);
    say(`R3 lifecycle: ${cfg.lifecycles} Usher`);
    const noticesBefore = mail.count('');
    const r3Before = await phaseStart(stack);
    const r3Ids: string[] = [];
    const r3Usher = await closedLoop(cfg.lifecycles, cfg.concurrency, async (i) => {
      const email = `r3-${i}@bench.example`;
      r3Ids.push((await create(email)).id);
      const note = await mail.waitFor(email, 300_000);
      await api.accept(tokenOf(note.link));
    });
    await drain('', noticesBefore + r3Usher.n);
    const r3Costs = await phaseEnd(stack, r3Before, r3Usher.n);
    const r3Health = await lifecycleHealth(stack, r3Ids, (i) => mail.countTo(`r3-${i}@bench.example`), cfg.lifecycles);

    // R2: a bulk upload against as many bare starts; RSS sampled all along.
    await quiet(stack, 'R2');
    say(`R2 bulk: ${cfg.bulk} bare starts at ${cfg.concurrency}`);
    loads.r2 = os.loadavg()[0]!;
    const r2BareCpu = bareCpu(stack);
    const r2Bare = await closedLoop(cfg.bulk, cfg.concurrency, bareStart('r2'));
    const r2BareCost = await r2BareCpu.per(r2Bare.n);
    // The floor under any row: as many bare starts of a workflow that stays open on a timer.
    say(`R2 bulk: ${cfg.bulk} bare starts of a waiting workflow at ${cfg.concurrency}`);
    const r2WaitCpu = bareCpu(stack);
    const r2Wait = await closedLoop(cfg.bulk, cfg.concurrency, bareStart('r2-wait', 'benchWait'));
    const r2WaitCost = await r2WaitCpu.per(r2Wait.n);
    if (cfg.profile === 'r2') await profileFromHere(stack, 'r2');
    say(`R2 bulk: ${cfg.bulk} rows`);
    const pile: { t: number; pending: number; api: number; worker: number }[] = [];
    const pileStart = Date.now();
    const watchPile = setInterval(() => {
      void pending().then((n) => pile.push({ t: Date.now() - pileStart, pending: n, api: stack.api.rssMiB(), worker: stack.worker.rssMiB() }), () => undefined);
    }, 2000);
    const r2Before = await phaseStart(stack);
    const r2 = await bulk(stack, 'r2', cfg.bulk);
    const r2Costs = await phaseEnd(stack, r2Before, cfg.bulk);
    const r2Rss = rss.samples.filter((s) => s.t >= r2.startedAt && s.t <= r2.startedAt + r2.emailsMs);
    if (cfg.profile === 'r2') await stack.restartUsher(nodeArgs);

    // R6: pile up to the scale (more bulk uploads), then the same probes as at empty.
    let topUp = 0;
    for (let have = await pending(); have < cfg.scale; have = await pending()) {
      const rows = Math.min(10_000, cfg.scale - have);
      say(`R6 pile-up: ${have} pending, ${rows} more`);
      await bulk(stack, `r6p${topUp++}`, rows);
    }
    clearInterval(watchPile);
    const pendingAtScale = await pending();
    pile.push({ t: Date.now() - pileStart, pending: pendingAtScale, api: stack.api.rssMiB(), worker: stack.worker.rssMiB() });
    // R6 asks what holding many invitations costs, not what a backlog does: the worker first finishes the uploads'
    // opening steps (their emails are out, but workflow tasks can still be queued behind them).
    const settled = await settle(stack, smoke ? 5_000 : 900_000);
    say(`R6 probes with ${pendingAtScale} pending (settled in ${(settled.ms / 1000).toFixed(0)} s${settled.quiet ? '' : ', still busy'})`);
    await sleep(smoke ? 200 : 5000);
    await resetStatements(stack.admin);
    const scansBefore = await bigTableSeqScans(stack.admin);
    const full = await probes(stack, 'r6f', cfg.probes, create);
    // A backend reports its table counters within 10 s of going idle.
    await sleep(smoke ? 1500 : 11_000);
    const scansAfter = await bigTableSeqScans(stack.admin);
    const probeSeqScans = Object.fromEntries([...scansAfter].map(([table, n]) => [table, n - (scansBefore.get(table) ?? 0)]));
    const plans = await planChecks(stack.admin);
    const fullRss = { api: stack.api.rssMiB(), worker: stack.worker.rssMiB() };

    say('R5 expiry with three reminders (time-skipping test server)');
    const expiry = await within(
      600_000,
      'the expiry on the time-skipping server',
      expiryHistory({ db: stack.db, smtpUrl: mail.url, tenantId: stack.tenantId, inviterUserId: stack.ownerId }),
    );

    rss.stop();
    const peaks = { api: stack.api.peakMiB(), worker: stack.worker.peakMiB() };
    const profiles = cfg.profile ? await profileSummaries(stack, cfg.profile) : [];
    await stack.stop();

    let dev: { source: DevRss; built?: DevRss } | undefined;
    if (cfg.dev) {
      say('usher dev idle RSS, from source (npm start)');
      const source = await measureDevIdleRss(cfg.devIdleSeconds);
      let built: DevRss | undefined;
      if (cfg.devBuild) {
        say('usher dev idle RSS, from the production build (npm run build: compiled CLI, prebuilt workflow bundle)');
        const devBuilt = (dir: string) => measureDevIdleRss(cfg.devIdleSeconds, [path.join(dir, 'cli.js')]);
        built = build ? await devBuilt(build) : await withBuild(devBuilt);
      }
      dev = { source, built };
    }

    const rows = table({ render, r1Bare, r1Usher, r1Paused, half, r3Bare, r3Usher, r2Bare, r2Wait, r2, r2Rss, acceptHistory, expiry, empty, full, emptyRss, fullRss, pile, pendingAtScale, dev, peaks });
    const report = renderReport({ r3Health, rows, startedAt, loadAtStart, loads, sweep, r1Costs, r1PausedCosts, r3Costs, r2Costs, r1BareCost, r2BareCost, r2WaitCost, r3BareCost, plans, probeSeqScans, acceptHistory, expiry, profiles, created, undrained });
    process.stdout.write(report);
    await mkdir(path.dirname(cfg.out), { recursive: true });
    await writeFile(
      cfg.out,
      `${JSON.stringify(
        {
          startedAt,
          machine: machine(),
          loadAtStart,
          loads,
          config: { ...cfg, out: undefined },
          rows,
          render,
          r1: { bare: r1Bare, usher: r1Usher, usherWorkerPaused: r1Paused, sweep },
          r2: { bare: r2Bare, bareWaiting: r2Wait, usher: r2, pile },
          r3: { bare: r3Bare, usher: r3Usher, shape, health: r3Health },
          r5: { accept: acceptHistory, expiry },
          r6: { empty, full, emptyRss, fullRss, pendingAtScale, dev, peaks, plans: plans.map(({ plan: _plan, ...p }) => p), probeSeqScans },
          costs: { r1: r1Costs, r1WorkerPaused: r1PausedCosts, r2: r2Costs, r3: r3Costs, r1Bare: r1BareCost, r2Bare: r2BareCost, r2BareWaiting: r2WaitCost, r3Bare: r3BareCost },
          rss: rss.samples,
        },
        null,
        1,
      )}\n`,
    );
    say(`figures written to ${path.relative(process.cwd(), cfg.out)}`);
  } catch (err) {
    rss.stop();
    await stack.stop();
    throw err;
  }
}

interface Probes {
  create: Latencies;
  lookup: Latencies;
  list: Latencies;
  listPending: Latencies;
  get: Latencies;
  accept: Latencies;
  acceptedIds: string[];
}

/** Each timed create is followed by this many accepts in the probes (the others accept untimed creates). */
const ACCEPTS_PER_CREATE = 4;

/** Sequential calls, one at a time: creates (then their emails), lookups of their links, list pages, gets, accepts. */
async function probes(stack: BenchStack, tag: string, n: number, create: (email: string) => Promise<{ id: string }>): Promise<Probes> {
  const api = usherApi(stack.baseUrl, stack.apiKey);
  const timed = async (count: number, run: (i: number) => Promise<unknown>) => (await closedLoop(count, 1, run)) as ClosedLoopResult;
  const ids: string[] = [];
  const emails: string[] = [];
  const invite = async (i: number) => {
    const email = `${tag}-${i}@bench.example`;
    ids.push((await create(email)).id);
    emails.push(email);
  };
  const createTimes = await timed(n, invite);
  // More pending invitations for the accepts, untimed: each accept uses one up, and a p99 of 100 accepts is their
  // second slowest, one hiccup of the shared machine (docs/benchmark.md).
  await closedLoop(n * (ACCEPTS_PER_CREATE - 1), 4, (i) => invite(n + i));
  const notes = await Promise.all(emails.map((email) => stack.mail.waitFor(email, 600_000)));
  const tokens = notes.map((note) => tokenOf(note.link));
  const k = tokens.length;
  await restDatabase(stack.admin);
  await sleep(1000);
  // Reads are cheap: enough of each that the p99 is not one or two calls that met a hiccup of the shared machine.
  const lookup = await timed(n * 10, (i) => api.lookup(tokens[i % k]!));
  const list = await timed(n * 5, () => api.list('limit=50'));
  const listPending = await timed(n * 5, () => api.list('status=pending&limit=50'));
  const get = await timed(n * 5, (i) => api.get(ids[i % k]!));
  const accept = await timed(k, (i) => api.accept(tokens[i]!));
  return { create: createTimes, lookup, list, listPending, get, accept, acceptedIds: ids };
}

/**
 * What the lifecycles left in their histories and mailboxes: workflow tasks that failed or timed out (a task that had
 * to be redone), and invitees who got more than their one invitation email.
 */
async function lifecycleHealth(stack: BenchStack, ids: string[], emailsOf: (i: number) => number, n: number) {
  let failedTasks = 0;
  let timedOutTasks = 0;
  for (const id of ids) {
    const h = await historyOf(stack.client, id);
    failedTasks += h.byType.WORKFLOW_TASK_FAILED ?? 0;
    timedOutTasks += h.byType.WORKFLOW_TASK_TIMED_OUT ?? 0;
  }
  let doubleEmails = 0;
  for (let i = 0; i < n; i++) if (emailsOf(i) > 1) doubleEmails++;
  return { histories: ids.length, failedTasks, timedOutTasks, doubleEmails };
}

async function bulk(stack: BenchStack, tag: string, rows: number): Promise<{ startedAt: number; createdMs: number; emailsMs: number; rows: number }> {
  const api = usherApi(stack.baseUrl, stack.apiKey);
  const csv = ['email,first_name', ...Array.from({ length: rows }, (_, i) => `${tag}-${i}@bench.example,Row${i}`)].join('\n');
  const startedAt = Date.now();
  const t0 = performance.now();
  const { id } = await api.bulkCsv(csv);
  let createdMs = Number.NaN;
  // A backlog that never clears is reported (NaN), not waited on forever.
  const emails = stack.mail.waitForCount(tag, rows, Math.max(600_000, rows * 500)).then(
    () => performance.now() - t0,
    () => Number.NaN,
  );
  const deadline = Date.now() + Math.max(600_000, rows * 500);
  for (;;) {
    if (Date.now() > deadline) throw new Error(`bulk ${tag}: the batch did not finish in time`);
    const batch = await api.batch(id);
    if (batch.processed >= batch.total) {
      if (batch.counts.created !== rows) throw new Error(`bulk ${tag}: ${batch.counts.created} of ${rows} rows created: ${JSON.stringify(batch.counts)}`);
      createdMs = performance.now() - t0;
      break;
    }
    await sleep(250);
  }
  const emailsMs = await emails;
  return { startedAt, createdMs, emailsMs, rows };
}

type BareCost = { temporalMs: number; workerMs: number };

interface PhaseMark {
  counters: DbCounters;
  metrics: Awaited<ReturnType<typeof scrape>>;
  cpu: Cpu;
}

type Cpu = { api: number; worker: number; temporal: number; postgres: number };
/** CPU of the bare side (Temporal, the bare worker) from now, per workflow when `per` is called. */
function bareCpu(stack: BenchStack) {
  const read = () => ({ temporal: cpuSeconds(stack.temporal.pid, true), worker: cpuSeconds(stack.bare.pid) });
  const start = read();
  return {
    /** CPU per workflow, once the bare worker and Temporal have worked off the phase's tasks (bareSettled). */
    async per(n: number) {
      await bareSettled(stack);
      const end = read();
      return { temporalMs: ((end.temporal - start.temporal) * 1000) / Math.max(1, n), workerMs: ((end.worker - start.worker) * 1000) / Math.max(1, n) };
    },
  };
}

/** settle() before a baseline, said in the log when it had to wait. */
async function quiet(stack: BenchStack, before: string): Promise<void> {
  if (smoke) return;
  const settled = await settle(stack, 600_000);
  if (settled.ms > 6_000 || !settled.quiet) say(`${before}: waited ${(settled.ms / 1000).toFixed(0)} s for the backlog${settled.quiet ? '' : ', still busy'}`);
}

/**
 * Waits until the worker and Temporal together use under a fifth of a core over a window (5 s), or `limitMs` passes.
 * `busy`: whose CPU seconds to watch, Usher's worker and Temporal unless given.
 */
async function settle(stack: BenchStack, limitMs: number, busy = () => cpuSeconds(stack.worker.pid) + cpuSeconds(stack.temporal.pid, true), windowMs = 5_000): Promise<{ ms: number; quiet: boolean }> {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    const before = busy();
    await sleep(windowMs);
    if ((busy() - before) / (windowMs / 1000) < 0.2) return { ms: Date.now() - t0, quiet: true };
  }
  return { ms: Date.now() - t0, quiet: false };
}

/**
 * After an Usher phase, before its CPU is read: the worker and Temporal have worked off its invitations' workflow
 * tasks (an upload's rows are reported before their first tasks have run), as for the baselines (bareSettled).
 */
async function usherSettled(stack: BenchStack): Promise<void> {
  await settle(stack, smoke ? 5_000 : 600_000, undefined, smoke ? 500 : 5_000);
}

/**
 * After a bare phase, before its CPU is read: the bare worker and Temporal have worked off its workflow tasks and
 * timers. The starts of workflows that wait return before their first tasks have run.
 */
async function bareSettled(stack: BenchStack): Promise<void> {
  await settle(stack, smoke ? 2_000 : 120_000, () => cpuSeconds(stack.bare.pid) + cpuSeconds(stack.temporal.pid, true), smoke ? 200 : 2_000);
}

const cpuNow = (stack: BenchStack): Cpu => ({
  api: cpuSeconds(stack.api.pid),
  worker: cpuSeconds(stack.worker.pid),
  temporal: cpuSeconds(stack.temporal.pid, true),
  postgres: cpuSeconds(stack.pg.pid, true),
});

interface PhaseCosts {
  invitations: number;
  /** Per invitation: database commits, rows inserted and updated, WAL bytes. */
  perInvitation: { commits: number; inserted: number; updated: number; walBytes: number };
  /** CPU milliseconds per invitation, by process (the phase's wall time includes the drain of its emails). */
  cpuMs: Cpu;
  statements: Statement[];
  tasks: TaskLatency[];
  /** The worker's sticky cache over the phase: workflow tasks that found their workflow in memory, those that did not, evictions. */
  cache: Record<string, number>;
}

async function phaseStart(stack: BenchStack): Promise<PhaseMark> {
  await resetStatements(stack.admin);
  return { counters: await dbCounters(stack.admin), metrics: await scrape(stack.workerMetricsPort), cpu: cpuNow(stack) };
}

/** A phase's costs; its CPU read once its workflow tasks have run (usherSettled), unless `cpu` was read earlier. */
async function phaseEnd(stack: BenchStack, mark: PhaseMark, invitations: number, readCpu?: Cpu): Promise<PhaseCosts> {
  let cpu = readCpu;
  if (!cpu) {
    await usherSettled(stack);
    cpu = cpuNow(stack);
  }
  const d = counterDelta(mark.counters, await dbCounters(stack.admin));
  const metrics = await scrape(stack.workerMetricsPort);
  const per = (v: number) => v / Math.max(1, invitations);
  const cpuMs = (k: keyof Cpu) => (per(cpu[k] - mark.cpu[k]) * 1000);
  return {
    invitations,
    perInvitation: { commits: per(d.commits), inserted: per(d.inserted), updated: per(d.updated), walBytes: per(d.walBytes) },
    cpuMs: { api: cpuMs('api'), worker: cpuMs('worker'), temporal: cpuMs('temporal'), postgres: cpuMs('postgres') },
    statements: await statements(stack.admin),
    tasks: taskLatencies(mark.metrics, metrics),
    cache: counterDeltas(mark.metrics, metrics),
  };
}

async function profileFromHere(stack: BenchStack, phase: string): Promise<void> {
  await stack.restartUsher([...nodeArgs, ...profileArgs(stack, phase)]);
  profiled.set(stack.api.pid, 'api');
  profiled.set(stack.worker.pid, 'worker');
}

/** Process id → which Usher process a profile came from. */
const profiled = new Map<number, string>();

function profileArgs(stack: BenchStack, phase: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(stack.dir, `prof-${phase}`)}`];
}

async function profileSummaries(stack: BenchStack, phase: string): Promise<string[]> {
  const dir = path.join(stack.dir, `prof-${phase}`);
  if (!existsSync(dir)) return [];
  // Kept after the run (the stack's folder is removed) for a closer look, e.g. in Chrome's DevTools.
  const keep = path.join(os.tmpdir(), 'usher-bench-profiles', phase);
  await mkdir(keep, { recursive: true });
  const out: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: a worker's workflow thread writes a profile of its own.
    const [, , , pid, thread] = file.split('.');
    const name = `${phase}-${profiled.get(Number(pid)) ?? pid}${thread === '0' ? '' : `-thread-${thread}`}.cpuprofile`;
    await copyFile(path.join(dir, file), path.join(keep, name));
    out.push(formatProfile(await summarizeProfile(path.join(keep, name))));
  }
  return out;
}

function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, kernel: os.release() };
}

const ratioText = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');

function table(f: {
  render: RenderResult;
  r1Bare: ClosedLoopResult;
  r1Usher: ClosedLoopResult;
  r1Paused: ClosedLoopResult;
  half: { offered: number; bare: OpenLoopResult; usher: OpenLoopResult };
  r3Bare: ClosedLoopResult;
  r3Usher: ClosedLoopResult;
  r2Bare: ClosedLoopResult;
  r2Wait: ClosedLoopResult;
  r2: { createdMs: number; emailsMs: number; rows: number };
  r2Rss: { t: number; value: { api: number; worker: number } }[];
  acceptHistory: HistorySummary;
  expiry: HistorySummary & { remindersSent: number; status: string };
  empty: Probes;
  full: Probes;
  emptyRss: { api: number; worker: number };
  fullRss: { api: number; worker: number };
  pile: { pending: number; api: number; worker: number }[];
  pendingAtScale: number;
  dev?: { source: DevRss; built?: DevRss };
  peaks: { api: number; worker: number };
}): Row[] {
  const rows: Row[] = [];
  const add = (id: string, figure: string, bare: string, usher: string, ratio: string, target: string, met: boolean | null) =>
    rows.push({ id, figure, bare, usher, ratio, target, met });
  const c = cfgText();
  const r1 = f.r1Usher.rate / f.r1Bare.rate;
  const errors = (r: { errors: number; firstError?: string }) => (r.errors ? `; ${r.errors} failed: ${r.firstError?.slice(0, 80)}` : '');
  add(
    'R1',
    `creates per second, ${c} concurrent callers`,
    fmtRate(f.r1Bare.rate),
    `${fmtRate(f.r1Usher.rate)} (p50 ${fmtMs(f.r1Usher.p50)}, p99 ${fmtMs(f.r1Usher.p99)}${errors(f.r1Usher)})`,
    ratioText(r1),
    '≥ 0.80×',
    r1 >= 0.8 && f.r1Usher.errors === 0,
  );
  add(
    'R1',
    `the same with the worker paused: the API, PostgreSQL and Temporal's starts alone`,
    fmtRate(f.r1Bare.rate),
    `${fmtRate(f.r1Paused.rate)} (p50 ${fmtMs(f.r1Paused.p50)}${errors(f.r1Paused)})`,
    ratioText(f.r1Paused.rate / f.r1Bare.rate),
    '— (the ceiling of the line above)',
    null,
  );
  add(
    'R1',
    `open loop at ${fmtRate(f.half.offered)} (half the bare rate): p50 / p99`,
    `${fmtMs(f.half.bare.p50)} / ${fmtMs(f.half.bare.p99)}`,
    `${fmtMs(f.half.usher.p50)} / ${fmtMs(f.half.usher.p99)}${f.half.usher.errors ? ` (${f.half.usher.errors} errors)` : ''}`,
    ratioText(f.half.usher.p99 / f.half.bare.p99),
    'p99 < 50 ms',
    f.half.usher.p99 < 50 && f.half.usher.errors === 0,
  );
  const created = f.r2.createdMs / 1000 / f.r2Bare.seconds;
  add('R2', `bulk ${f.r2.rows} rows: every row created`, `${f.r2Bare.seconds.toFixed(1)} s of bare starts`, `${(f.r2.createdMs / 1000).toFixed(1)} s`, ratioText(created), '≤ 1.5×', created <= 1.5);
  const emails = f.r2.emailsMs / 1000 / f.r2Bare.seconds;
  add('R2', `bulk ${f.r2.rows} rows: every email sent`, `${f.r2Bare.seconds.toFixed(1)} s`, `${(f.r2.emailsMs / 1000).toFixed(1)} s`, ratioText(emails), '≤ 2×', emails <= 2);
  add(
    'R2',
    `the floor: as many bare starts of a workflow that waits on a timer, against every row created`,
    `${f.r2Wait.seconds.toFixed(1)} s (${ratioText(f.r2Wait.seconds / f.r2Bare.seconds)} the no-op's)`,
    `${(f.r2.createdMs / 1000).toFixed(1)} s`,
    ratioText(f.r2.createdMs / 1000 / f.r2Wait.seconds),
    '—',
    null,
  );
  const flat = flatness(f.r2Rss.map((s) => s.value.worker));
  const flatApi = flatness(f.r2Rss.map((s) => s.value.api));
  add(
    'R2',
    'RSS while the upload runs (worker; API)',
    '—',
    `${rangeText(f.r2Rss.map((s) => s.value.worker))}; ${rangeText(f.r2Rss.map((s) => s.value.api))}`,
    `second half ${pctText(flat)}; ${pctText(flatApi)}`,
    'flat (second half grows < 10 %)',
    flat < 0.1 && flatApi < 0.1,
  );
  const r3 = f.r3Usher.rate / f.r3Bare.rate;
  add(
    'R3',
    `lifecycles per second (create → email → accept → role), ${c} concurrent`,
    fmtRate(f.r3Bare.rate),
    `${fmtRate(f.r3Usher.rate)} (p50 ${fmtMs(f.r3Usher.p50)}${errors(f.r3Usher)})`,
    ratioText(r3),
    '≥ 0.70×',
    r3 >= 0.7 && f.r3Usher.errors === 0,
  );
  add('R4', 'rendering one email', `mjml2html ${(f.render.mjmlUs / 1000).toFixed(1)} ms`, `compiled ${f.render.compiledUs.toFixed(1)} µs`, `${f.render.ratio.toFixed(0)}× faster`, '≥ 100× faster', f.render.ratio >= 100);
  const h = f.acceptHistory;
  add('R5', 'history of create → accept', '—', `${h.events} events, ${(h.bytes / 1024).toFixed(1)} KiB`, '—', '≤ 30 events, ≤ 20 KB', h.events <= 30 && h.bytes <= 20_000);
  const e = f.expiry;
  add('R5', `history of an expiry with ${e.remindersSent} reminders (time-skipping server)`, '—', `${e.events} events, ${(e.bytes / 1024).toFixed(1)} KiB (${e.status})`, '—', '≤ 40 events', e.events <= 40 && e.remindersSent === 3);
  const pileWorker = f.pile.map((p) => p.worker).filter((v) => v > 0);
  const workerFlat = flatness(pileWorker);
  add(
    'R6',
    `worker RSS: empty → ${f.pendingAtScale} pending (peak)`,
    '—',
    `${f.emptyRss.worker.toFixed(0)} → ${f.fullRss.worker.toFixed(0)} MiB (${f.peaks.worker.toFixed(0)})`,
    `second half ${pctText(workerFlat)}`,
    '< 1 GiB and flat',
    f.peaks.worker < 1024 && workerFlat < 0.1,
  );
  add('R6', `API RSS: empty → ${f.pendingAtScale} pending (peak)`, '—', `${f.emptyRss.api.toFixed(0)} → ${f.fullRss.api.toFixed(0)} MiB (${f.peaks.api.toFixed(0)})`, '—', '< 300 MiB', f.peaks.api < 300);
  const createRatio = f.full.create.p50 / f.empty.create.p50;
  add('R6', 'create p50, one caller: empty vs at scale', fmtMs(f.empty.create.p50), fmtMs(f.full.create.p50), ratioText(createRatio), '≤ 1.2×', createRatio <= 1.2);
  for (const [key, label] of [
    ['list', 'list (first page of 50) p99'],
    ['listPending', 'list status=pending p99'],
    ['lookup', 'lookup by token p99'],
    ['get', 'get one invitation p99'],
    ['accept', 'accept p99'],
  ] as const) {
    const ratio = f.full[key].p99 / f.empty[key].p99;
    // "Unchanged": within the run-to-run noise of a p99 over a few hundred calls on a shared machine.
    add('R6', `${label} (${f.full[key].n} calls): empty vs at scale`, fmtMs(f.empty[key].p99), fmtMs(f.full[key].p99), ratioText(ratio), 'unchanged (≤ 1.5×)', ratio <= 1.5);
  }
  if (f.dev) {
    const { source, built } = f.dev;
    add('R6', `\`usher dev\` idle RSS after ${source.idleSeconds} s, from source (npm start)`, '—', `${source.idleMiB.toFixed(0)} MiB (peak ${source.peakMiB.toFixed(0)})`, '—', '< 350 MiB', source.idleMiB < 350);
    if (built) add('R6', `\`usher dev\` idle RSS after ${built.idleSeconds} s, production build`, '—', `${built.idleMiB.toFixed(0)} MiB (peak ${built.peakMiB.toFixed(0)})`, '—', '< 350 MiB', built.idleMiB < 350);
  }
  return rows;
}

const cfgText = () => String(cfg.concurrency);
const rangeText = (values: number[]) => (values.length ? `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} MiB` : 'n/a');
const pctText = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)} %` : 'n/a');

/** How much a series grew over its second half, relative to its value at the half-way mark. */
function flatness(values: number[]): number {
  if (values.length < 4) return Number.NaN;
  const mid = values[Math.floor(values.length / 2)]!;
  const secondHalfMax = Math.max(...values.slice(Math.floor(values.length / 2)));
  return (secondHalfMax - mid) / mid;
}

function renderReport(r: {
  rows: Row[];
  startedAt: Date;
  loadAtStart: number[];
  loads: Record<string, number>;
  sweep: { fraction: number; offered: number; bare: OpenLoopResult; usher: OpenLoopResult; shed: number }[];
  r1Costs: PhaseCosts;
  r1PausedCosts: PhaseCosts;
  r3Costs: PhaseCosts;
  r2Costs: PhaseCosts;
  r3Health: { histories: number; failedTasks: number; timedOutTasks: number; doubleEmails: number };
  r1BareCost: BareCost;
  r2BareCost: BareCost;
  r2WaitCost: BareCost;
  r3BareCost: BareCost;
  plans: PlanCheck[];
  /** Sequential scans of each big table while the probes at scale ran, by anything. */
  probeSeqScans: Record<string, number>;
  acceptHistory: HistorySummary;
  expiry: HistorySummary;
  profiles: string[];
  created: number;
  undrained: string[];
}): string {
  const m = machine();
  const lines: string[] = [];
  lines.push('', `Usher benchmark · ${r.startedAt.toISOString()} · ${m.cpus} × ${m.model} · ${m.memGiB} GiB · node ${m.node}`);
  lines.push(
    `load average at start ${r.loadAtStart.map((v) => v.toFixed(1)).join(' ')}; at R1 ${r.loads.r1?.toFixed(1)}, R3 ${r.loads.r3?.toFixed(1)}, R2 ${r.loads.r2?.toFixed(1)}; now ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}${smoke ? ' · SMOKE RUN: sizes too small to mean anything' : ''}`,
  );
  lines.push('');
  const header = ['', 'figure', 'bare baseline', 'Usher', 'ratio', 'target', 'met'];
  const body = r.rows.map((row) => [row.id, row.figure, row.bare, row.usher, row.ratio, row.target, row.met === null ? '—' : row.met ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  lines.push(line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line));
  lines.push('', 'Create latency against offered load (open loop, latency from when each call was due):');
  lines.push(line2(['offered', 'bare p50', 'bare p99', 'Usher p50', 'Usher p99', 'Usher achieved', 'errors', 'turned away']));
  for (const p of r.sweep) {
    lines.push(line2([fmtRate(p.offered), fmtMs(p.bare.p50), fmtMs(p.bare.p99), fmtMs(p.usher.p50), fmtMs(p.usher.p99), fmtRate(p.usher.achieved), String(p.usher.errors), String(p.shed)]));
  }
  lines.push('  (turned away: 503s at the API’s cap on requests in flight, each retried after its Retry-After; the latency counts the wait)');
  lines.push(
    '',
    `Bare baselines' CPU per workflow: R1 no-op start: Temporal ${r.r1BareCost.temporalMs.toFixed(1)} ms, bare worker ${r.r1BareCost.workerMs.toFixed(1)} ms; R3 lifecycle: Temporal ${r.r3BareCost.temporalMs.toFixed(1)} ms, bare worker ${r.r3BareCost.workerMs.toFixed(1)} ms; R2 starts: Temporal ${r.r2BareCost.temporalMs.toFixed(1)} ms; R2 starts of a waiting workflow: Temporal ${r.r2WaitCost.temporalMs.toFixed(1)} ms, bare worker ${r.r2WaitCost.workerMs.toFixed(1)} ms`,
  );
  for (const [name, costs] of [
    ['R1 creates', r.r1Costs],
    ['R1 creates, the worker paused (its share comes later)', r.r1PausedCosts],
    ['R3 lifecycles', r.r3Costs],
    ['R2 bulk rows', r.r2Costs],
  ] as const) {
    const p = costs.perInvitation;
    const c = costs.cpuMs;
    lines.push(
      '',
      `${name}: per invitation ${p.commits.toFixed(1)} commits, ${p.inserted.toFixed(1)} rows inserted, ${p.updated.toFixed(1)} updated, ${(p.walBytes / 1024).toFixed(1)} KiB WAL`,
      `  CPU per invitation: API ${c.api.toFixed(1)} ms, worker ${c.worker.toFixed(1)} ms, Temporal ${c.temporal.toFixed(1)} ms, PostgreSQL ${c.postgres.toFixed(1)} ms`,
    );
    lines.push('  statements by total time (calls per invitation, mean):');
    for (const s of costs.statements.slice(0, 10)) {
      lines.push(`    ${(s.calls / costs.invitations).toFixed(2).padStart(6)} × ${fmtMs(s.meanMs).padStart(8)}  ${s.query.slice(0, 140)}`);
    }
    if (costs.tasks.length) {
      lines.push('  Temporal tasks (worker SDK metrics): count, mean, p50, p99');
      for (const t of costs.tasks) lines.push(`    ${t.name.padEnd(70)} ${String(t.count).padStart(7)} ${fmtMs(t.meanMs).padStart(9)} ${fmtMs(t.p50Ms).padStart(9)} ${fmtMs(t.p99Ms).padStart(9)}`);
    }
    const cache = Object.entries(costs.cache);
    if (cache.length) lines.push(`  worker's workflow cache: ${cache.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const hl = r.r3Health;
  lines.push(
    '',
    `R3 histories read back: ${hl.histories}; workflow tasks failed ${hl.failedTasks}, timed out ${hl.timedOutTasks}; invitees with more than one invitation email: ${hl.doubleEmails}`,
  );
  lines.push('', 'History events, create → accept:', `  ${JSON.stringify(r.acceptHistory.byType)}`);
  lines.push('History events, expiry:', `  ${JSON.stringify(r.expiry.byType)}`);
  const scans = r.plans.filter((p) => p.seqScans.length);
  lines.push(
    '',
    `Query plans at scale: ${r.plans.length} statements on the big tables checked, ${scans.length} with a sequential scan of one in its generic plan`,
  );
  for (const p of scans) lines.push(`  seq scan on ${p.seqScans.join(', ')} (${p.calls} calls): ${p.query.slice(0, 160)}`);
  if (scans.length) lines.push("  (planned with the statement's constants as parameters, as pg_stat_statements records it: a literal that meets a partial index is not seen)");
  const scanned = Object.entries(r.probeSeqScans).filter(([, n]) => n > 0);
  lines.push(
    `Sequential scans of the big tables (${Object.keys(r.probeSeqScans).join(', ')}) while the probes at scale ran: ${scanned.length ? scanned.map(([t, n]) => `${t} ${n}`).join(', ') : 'none'}`,
  );
  if (r.profiles.length) lines.push('', 'CPU profiles:', ...r.profiles);
  if (r.undrained.length) lines.push('', `Phases whose emails had not all arrived when the next began: ${r.undrained.join(', ')}`);
  lines.push('', `${r.created} invitations created through the API in this run.`, '');
  return lines.join('\n');
}

/** Waits for `promise`, failing the bench (rather than hanging it) when it takes longer than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function imageNodeOptions(): string {
  const set = /^ENV NODE_OPTIONS=("?)(.+)\1$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  if (!set) throw new Error('the Dockerfile sets no NODE_OPTIONS; give BENCH_NODE_ARGS');
  return set[2]!;
}

const line2 = (cells: string[]) => `  ${cells.map((c) => c.padStart(14)).join('')}`;

(cfg.fromSource ? main() : withBuild(main)).then(
  () => {
    // The chart, when matplotlib is at hand (script/python-tools.txt).
    const python = path.join(root, '.tools/venv/bin/python');
    if (!smoke && existsSync(python)) {
      // A run with its own BENCH_OUT (a trial of a few phases) draws beside it, not over the documented chart.
      const chart = env.BENCH_OUT ? cfg.out.replace(/(\.json)?$/, '.png') : path.join(root, 'docs/benchmark-create-latency.png');
      const result = spawnSync(python, [path.join(root, 'bench/chart.py'), cfg.out, chart], { stdio: 'inherit' });
      if (result.status !== 0) say('the chart was not drawn');
    }
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
