/**
 * The bare baselines' worker, a child process of the bench: bundles bench/bare/workflows.ts and runs it with no-op
 * activities. Env: TEMPORAL_ADDRESS, TASK_QUEUE. Prints "ready" once polling.
 */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { bareActivities } from './activities';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => process.stderr.write(`bare worker: ${m}\n`) };

async function main(): Promise<void> {
  Runtime.install({ logger: quiet as never });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.TASK_QUEUE!,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)), logger: quiet as never }),
    activities: bareActivities,
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bare worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
