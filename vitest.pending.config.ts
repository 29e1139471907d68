import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/** The scenarios kept out of the default run until they hold (see vitest.config.ts). */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/bench/bench.test.ts'],
    exclude: ['node_modules/**'],
  },
});
