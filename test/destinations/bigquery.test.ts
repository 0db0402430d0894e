/**
 * The BigQuery destination through the real @google-cloud/bigquery SDK against the local stand-in
 * (test/support/bigquery-standin): the shared contract suite, then what is particular to BigQuery.
 */
import { afterAll, beforeAll } from 'vitest';
import { startBigQueryStandin, type BigQueryStandin } from '../support/bigquery-standin/index.js';
import { makeHarnessFor } from '../support/bigquery-standin/harness.js';
import { destinationContract } from './contract.js';

let standin: BigQueryStandin;
beforeAll(async () => {
  standin = await startBigQueryStandin();
});
afterAll(async () => {
  await standin?.stop();
});

const target = () => ({
  project: standin.project,
  apiEndpoint: standin.url,
  authClient: standin.authClient(),
});

destinationContract('bigquery (stand-in)', makeHarnessFor(target), { snapshot: true });
