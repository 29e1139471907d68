#!/usr/bin/env node
// `usher <command>`. In production (NODE_ENV=production) with a build present (`npm run build` → dist/), runs the
// compiled JavaScript; otherwise the TypeScript sources through tsx, so working on Usher needs no build step (and a
// stale dist/ never shadows the sources you are editing).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (process.env.NODE_ENV === 'production' && existsSync(compiled)) {
  process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main/cli.ts');
}
