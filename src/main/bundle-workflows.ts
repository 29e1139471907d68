/**
 * `node --import tsx src/main/bundle-workflows.ts <file>`: writes the workflow bundle to <file> and exits. A worker
 * run from source starts this rather than bundling in its own process (src/main/worker.ts).
 */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflows } from './worker';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: bundle-workflows.ts <file>\n');
  process.exit(2);
}
const { code } = (await bundleWorkflows()) as { code: string };
await writeFile(out, code);
