import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities/deps';
import { type Activities, createActivities } from '../../activities/index';
import type { Logger } from '../lib/log';
import { scrapedGauge } from '../lib/metrics';
import { type TemporalConnectionSettings, temporalConnectionOptions } from '../temporal/connect';
import { activityInterceptors } from '../temporal/interceptors';
import { holdingBackDuring, type WorkflowTaskSlots, workflowTaskSlots } from '../temporal/workflow-task-slots';
import { runtimeLogger, workflowSpanSinks } from './observability';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
/** Bundled with the workflows: tracing and the request id inside the sandbox. */
export const workflowInterceptorsPath = fileURLToPath(new URL('../../workflows/interceptors.ts', import.meta.url));
/** `npm run build` writes the workflow bundle next to the compiled CLI; from source it does not exist. */
const prebuiltBundlePath = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));

/**
 * Open invitations kept in memory between their events. The SDK sizes its default by the heap (about 900 here), about
 * 1 MiB each: a worker holding 15,000 pending invitations grew to 1.5 GiB. An invitation hears something every few
 * days, and replaying its short history (under 40 events) when it does costs a millisecond, so a small cache loses
 * little and keeps the worker's memory flat (docs/benchmark.md).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

/**
 * Workflow tasks a worker takes on at once. The SDK's 40 suits a worker with cores to spare. On a starved one (two
 * shared cores under the fault suite) 40 accepted tasks waited their turn on the one workflow thread past the server's
 * 10-second task timeout; a timed-out task loses its worker and queues again behind every other invitation's, and
 * an accept waited 30 s for its answer. With 10, the rest wait on the server, where nothing times out, and the same
 * accepts were answered within 7 s. A create's throughput is bound by the CPU, not by this number (docs/benchmark.md).
 */
export const DEFAULT_MAX_WORKFLOW_TASKS = 10;

/**
 * While a bulk chunk runs in this worker it takes one workflow task at a time, at most 10 a second
 * (src/temporal/workflow-task-slots.ts): enough for the batch's own steps and a person's invitations, which come first
 * by priority, while the upload's rows wait. A 10,000-row upload took 103 s with the worker running its rows' first
 * tasks alongside the chunks, 78 s with them held back (docs/benchmark.md).
 */
export const WORKFLOW_TASKS_WHILE_CHUNKING = { slots: 1, perSecond: 10 };

const CHUNK_ACTIVITY: keyof Activities = 'processBatchChunk';

/** The SDK's own defaults for the other kinds of tasks, which a tuner must state. */
const SDK_DEFAULT_SLOTS = 100;

let runtimeInstalled = false;

/**
 * Installs the SDK's Runtime once per process. Without options, keeps the SDK's own logging to warnings on stderr. With
 * a logger, the SDK's lines (native ones too) go through ours; with `prometheusBindAddress`, the SDK's worker metrics
 * are exported there (the worker's /metrics reads them).
 */
export function quietRuntime(options: { log?: Logger; prometheusBindAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const telemetryOptions = {
    ...(options.log ? { logging: { filter: { core: 'WARN' as const, other: 'ERROR' as const }, forward: {} } } : {}),
    ...(options.prometheusBindAddress
      ? { metrics: { prometheus: { bindAddress: options.prometheusBindAddress, countersTotalSuffix: true, useSecondsForDurations: true, unitSuffix: true } } }
      : {}),
  };
  if (options.log) {
    Runtime.install({ logger: runtimeLogger(options.log), telemetryOptions });
    return;
  }
  Runtime.install({ telemetryOptions, logger: new (class {
    log() {}
    trace() {}
    debug() {}
    info() {}
    warn(message: string, meta?: unknown) {
      process.stderr.write(`temporal-sdk warn: ${message} ${meta ? JSON.stringify(meta) : ''}\n`);
    }
    error(message: string, meta?: unknown) {
      process.stderr.write(`temporal-sdk error: ${message} ${meta ? JSON.stringify(meta) : ''}\n`);
    }
  })() as never });
}

export async function bundleWorkflows(): Promise<WorkflowBundleOption> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [workflowInterceptorsPath], logger: silentLogger });
  return { code };
}

export interface WorkerOptions {
  temporal: TemporalConnectionSettings;
  taskQueue: string;
  deps: ActivityDeps;
  workflowBundle?: WorkflowBundleOption;
  /** Tests wrap activities to force failures the real ones cannot produce on demand. */
  activities?: ReturnType<typeof createActivities>;
  connection?: NativeConnection;
  /** Open invitations kept in memory between their events; fewer saves memory, more saves replays (DEFAULT_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows?: number;
  /** Workflow tasks taken on at once (DEFAULT_MAX_WORKFLOW_TASKS). */
  maxWorkflowTasks?: number;
  /** On shutdown, activities in flight get this long to finish before they are cancelled. */
  shutdownGraceMs?: number;
}

export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const connection = options.connection ?? (await NativeConnection.connect(await temporalConnectionOptions(options.temporal)));
  const workflowTasks = workflowTaskSlots({ max: options.maxWorkflowTasks ?? DEFAULT_MAX_WORKFLOW_TASKS, whileChunking: WORKFLOW_TASKS_WHILE_CHUNKING });
  registerSlotGauges(workflowTasks);
  const workflowBundle = options.workflowBundle ?? (existsSync(prebuiltBundlePath) ? { codePath: prebuiltBundlePath } : await bundleInChild());
  return Worker.create({
    connection,
    namespace: options.temporal.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities ?? createActivities(options.deps),
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    tuner: {
      workflowTaskSlotSupplier: workflowTasks.supplier,
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: SDK_DEFAULT_SLOTS },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: SDK_DEFAULT_SLOTS },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: SDK_DEFAULT_SLOTS },
    },
    // Half the workflow task polls on the shared queue, not the SDK's fifth: an invitation's first task always comes
    // from there, and so do most later ones (an invitation waits for days, long evicted from the cache). With a fifth
    // (2 polls), new invitations' first tasks queued by the tens of thousands behind a bulk upload while the worker sat
    // three-quarters idle (docs/benchmark.md).
    nonStickyToStickyPollRatio: 0.5,
    // After the grace, activities in flight are cancelled (`usher worker` exits a few seconds later regardless).
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceTime: options.shutdownGraceMs } : {}),
    // The SDK sends an activity's heartbeats at most every 0.8 × its heartbeat timeout (24 s of a send's 30 s), which
    // leaves a busy worker 6 s of slack before the server gives the attempt up; every 5 s leaves it 25.
    maxHeartbeatThrottleInterval: '5 seconds',
    ...(workflowBundle ? { workflowBundle } : { workflowsPath, bundlerOptions: {} }),
    // Traces, request ids in log lines, and the counts only activities see (src/temporal/interceptors.ts).
    interceptors: {
      activity: [...activityInterceptors({ db: options.deps.db, log: options.deps.invitations.log }), holdingBackDuring(CHUNK_ACTIVITY, workflowTasks)],
      ...(workflowBundle ? {} : { workflowModules: [workflowInterceptorsPath] }),
    },
    sinks: workflowSpanSinks(),
  });
}

/**
 * The SDK reports no free workflow task slots for a custom slot supplier (`temporal_worker_task_slots_available` has
 * only its activity sample), so the worker reports its own.
 */
function registerSlotGauges(slots: WorkflowTaskSlots): void {
  scrapedGauge({
    name: 'usher_workflow_task_slots_available',
    help: 'Workflow tasks this worker would take on now besides those it runs: WORKER_MAX_WORKFLOW_TASKS when idle, at most 1 while a bulk chunk runs.',
    read: async () => [{ value: slots.state().available }],
  });
  scrapedGauge({
    name: 'usher_bulk_chunks_running',
    help: 'Bulk upload chunks this worker is working through; while any runs, it holds its workflow tasks back.',
    read: async () => [{ value: slots.state().chunks }],
  });
}

const bundlerEntry = fileURLToPath(new URL('./bundle-workflows.ts', import.meta.url));

/**
 * From source there is no prebuilt bundle. Bundled in this process, webpack left its heap behind in a process that
 * runs for weeks: `usher dev` sat idle at 341 MiB, 271 MiB when a short-lived child bundles (peak 600 → 417 MiB).
 * Undefined where there is no TypeScript entry to run (a compiled CLI without its bundle): the SDK bundles in process.
 */
async function bundleInChild(): Promise<WorkflowBundleOption | undefined> {
  if (!existsSync(bundlerEntry)) return undefined;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'usher-workflow-bundle-'));
  try {
    const out = path.join(dir, 'workflow-bundle.js');
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), bundlerEntry, out], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exit = await new Promise<number | string | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(signal ?? code));
    });
    if (exit !== 0) throw new Error(`bundling the workflow code failed (${exit})`);
    return { code: await readFile(out, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const silentLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string) {
    process.stderr.write(`workflow bundler: ${message}\n`);
  },
};
