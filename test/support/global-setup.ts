import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/main/dev/embedded-postgres';
import { findTemporalCli, startTemporalDevServer } from '../../src/main/dev/temporal-dev-server';
import { bundleWorkflows } from '../../src/main/worker';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/**
 * Once per run: one real PostgreSQL server (each test file makes its own database), one Temporal dev server (each
 * file its own task queue), and the workflow bundle built once for every worker.
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'usher-test-'));
  // As root, PostgreSQL runs as the postgres user, who must be able to reach its data folder.
  await chmod(dir, 0o755);
  const [pg, temporal, bundle] = await Promise.all([
    startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), fast: true }),
    startTemporalDevServer({ cli: findTemporalCli(process.env.TEMPORAL_CLI) }),
    bundleWorkflows(),
  ]);
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  await writeFile(bundlePath, (bundle as { code: string }).code);
  project.provide('postgresAdminUrl', pg.urlFor('postgres'));
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await Promise.allSettled([temporal.stop(), pg.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
