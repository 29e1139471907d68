import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities/deps';
import { createActivities } from '../../activities/index';
import { type TemporalConnectionSettings, temporalConnectionOptions } from '../temporal/connect';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

let runtimeInstalled = false;

/** Keep the SDK's own logging to warnings; our activities log what matters. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new (class {
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
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: silentLogger });
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
  /** Open invitations kept in memory between their events; fewer saves memory, more saves replays. SDK default if unset. */
  maxCachedWorkflows?: number;
}

export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const connection = options.connection ?? (await NativeConnection.connect(await temporalConnectionOptions(options.temporal)));
  return Worker.create({
    connection,
    namespace: options.temporal.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities ?? createActivities(options.deps),
    ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath, bundlerOptions: {} }),
  });
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
