import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import the package by its own name, as users do; they run against the TypeScript sources.
    alias: { threadstate: fileURLToPath(new URL('./runtime/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts', '{actors,mailbox,runtime,supervisor}/**/*.test.ts'],
    testTimeout: 20_000,
    pool: 'forks',
  },
});
