import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests share one local broker; run files in parallel, two at a time (2 cores).
    maxWorkers: 2,
    // Starts (or reuses) the local Kafka once and provides its address: see test/global-setup.ts.
    globalSetup: ['test/global-setup.ts'],
    // kafkajs 2 warns once per process that its default partitioner changed in 2.0; noise in tests.
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  },
});
