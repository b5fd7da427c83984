import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests share one local broker; run files in parallel, two at a time (2 cores).
    maxWorkers: 2,
  },
});
