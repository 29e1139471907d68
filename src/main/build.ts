/**
 * `npm run build [-- --outdir <dir>]`: the production build, into `dist/` unless told otherwise.
 *
 *   cli.js (+ chunks)       the `usher` CLI compiled and bundled by esbuild (the TypeScript here is tsc 7, which
 *                           type-checks but does not emit runnable ESM for extensionless imports); npm packages stay
 *                           external, loaded from node_modules; source maps alongside (node --enable-source-maps)
 *   healthcheck.js          the container's HEALTHCHECK: small, loads no Temporal or database code
 *   workflow-bundle.js      the workflow code (with its interceptors) bundled once, as the worker would at start
 *   templates/*.mjml        the email layouts, read at start-up next to the compiled code
 *
 * The worker uses workflow-bundle.js when it sits next to the compiled CLI (src/main/worker.ts). Types are checked by
 * script/lint, not here.
 */
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { bundleWorkflows } from './worker';

const root = path.resolve(import.meta.dirname, '../..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } }, strict: true });
  const outdir = path.resolve(values.outdir ?? path.join(root, 'dist'));
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const started = Date.now();

  await build({
    absWorkingDir: root,
    entryPoints: { cli: 'src/main/cli.ts', healthcheck: 'src/main/healthcheck.ts' },
    outdir,
    bundle: true,
    // `usher dev` (embedded PostgreSQL, the dev server) is a chunk of its own, loaded only by that command.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node22',
    packages: 'external',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  });

  await mkdir(path.join(outdir, 'templates'));
  const templates = path.join(root, 'src/email/templates');
  for (const file of await readdir(templates)) await cp(path.join(templates, file), path.join(outdir, 'templates', file));

  const bundle = (await bundleWorkflows()) as { code: string };
  await writeFile(path.join(outdir, 'workflow-bundle.js'), bundle.code);
  // The compiled files are ES modules wherever dist/ is copied to.
  await writeFile(path.join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  process.stdout.write(`built ${path.relative(process.cwd(), outdir) || outdir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`build failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
