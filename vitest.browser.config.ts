import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The browser suite: a real `custodian serve` on the embedded default, driven by Debian's Chromium.
export default defineConfig({
  resolve: {
    alias: [{ find: /^#app\/(.*)$/, replacement: path.resolve('app') + '/$1' }],
  },
  test: {
    globals: true,
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
