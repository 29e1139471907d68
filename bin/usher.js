#!/usr/bin/env node
// Runs the TypeScript entry through tsx, so `usher <command>` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main/cli.ts');
