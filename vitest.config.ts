import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'connectors/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests must never reach off this machine: both cloud SDKs probe 169.254.169.254 otherwise.
    env: {
      METADATA_SERVER_DETECTION: 'none',
      SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
      EXPORTSYNC_LOG_LEVEL: 'silent',
    },
    pool: 'forks',
    // Most suites wait on child processes, HTTP simulators and databases rather than the CPU; the
    // default (cores - 1 = one worker on a 2-core machine) ran every file in series.
    maxWorkers: 3,
  },
});
