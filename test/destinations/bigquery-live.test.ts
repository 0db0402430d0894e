/**
 * The shared contract suite against a real BigQuery project. Runs only when BQ_TEST_PROJECT is set
 * and credentials are available (GOOGLE_APPLICATION_CREDENTIALS, or BQ_TEST_KEY_FILE); skipped
 * otherwise. Each test creates its own dataset `exportsync_test_<hex>` and deletes it afterwards.
 *   BQ_TEST_PROJECT=my-project GOOGLE_APPLICATION_CREDENTIALS=key.json BQ_TEST_LOCATION=EU \
 *     npx vitest run test/destinations/bigquery-live.test.ts
 */
import { describe, it } from 'vitest';
import { makeHarnessFor } from '../support/bigquery-standin/harness.js';
import { destinationContract } from './contract.js';

const project = process.env.BQ_TEST_PROJECT;
const keyFile = process.env.BQ_TEST_KEY_FILE ?? process.env.GOOGLE_APPLICATION_CREDENTIALS;

if (project && keyFile) {
  destinationContract(
    'bigquery (live)',
    makeHarnessFor(() => ({
      project,
      keyFile,
      ...(process.env.BQ_TEST_LOCATION ? { location: process.env.BQ_TEST_LOCATION } : {}),
    })),
    { snapshot: true },
  );
} else {
  describe('bigquery (live)', () => {
    it.skip('needs BQ_TEST_PROJECT and GOOGLE_APPLICATION_CREDENTIALS (or BQ_TEST_KEY_FILE)', () =>
      undefined);
  });
}
