/**
 * The contract harness for BigQuery, shared by the stand-in suite and the live suite: a fresh
 * dataset per test, rows read back through the SDK as canonical text.
 */
import { randomBytes } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import type { Destination } from '../../../src/core/contracts.js';
import { silentLogger } from '../../../src/core/log.js';
import type { BigQueryDestinationConfig } from '../../../src/config/bigquery.js';
import { createBigQueryDestination } from '../../../src/destinations/bigquery/index.js';
import type { DestinationHarness } from '../../destinations/contract.js';

export interface Target {
  project: string;
  apiEndpoint?: string;
  authClient?: unknown;
  location?: string;
  keyFile?: string;
}

const bt = (n: string) => `\`${n}\``;

export function config(target: Target, dataset: string): BigQueryDestinationConfig {
  return {
    type: 'bigquery',
    project: target.project,
    dataset,
    create_dataset: true,
    lock_ttl_seconds: 60,
    ...(target.location ? { location: target.location } : {}),
    ...(target.apiEndpoint ? { api_endpoint: target.apiEndpoint } : {}),
    ...(target.keyFile ? { key_file: target.keyFile } : {}),
  };
}

export function sdk(target: Target): BigQuery {
  return new BigQuery({
    projectId: target.project,
    ...(target.apiEndpoint ? { apiEndpoint: target.apiEndpoint } : {}),
    ...(target.authClient ? { authClient: target.authClient as never } : {}),
    ...(target.keyFile ? { keyFilename: target.keyFile } : {}),
    ...(target.location ? { location: target.location } : {}),
  });
}

/** Every column of `dataset.table` as canonical text, ordered by `orderBy`. */
export async function tableRows(
  bq: BigQuery,
  dataset: string,
  table: string,
  orderBy: string[],
): Promise<Array<Record<string, string | null>>> {
  const [meta] = await bq.dataset(dataset).table(table).getMetadata();
  const fields = (meta.schema?.fields ?? []) as Array<{ name: string; type: string }>;
  const exprs = fields.map(({ name, type }) => {
    const c = `src.${bt(name)}`;
    if (type === 'TIMESTAMP') return `FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6SZ', ${c}, 'UTC') AS ${bt(name)}`;
    if (type === 'JSON') return `TO_JSON_STRING(${c}) AS ${bt(name)}`;
    return `CAST(${c} AS STRING) AS ${bt(name)}`;
  });
  const sql = `SELECT ${exprs.join(', ')} FROM ${bt(dataset)}.${bt(table)} AS src ORDER BY ${orderBy.map((n) => `src.${bt(n)}`).join(', ')}`;
  const [rows] = await bq.query({ query: sql });
  return rows as Array<Record<string, string | null>>;
}

export function makeHarnessFor(
  target: () => Target,
  extra: { stageFileBytes?: number } = {},
): () => Promise<DestinationHarness> {
  return async () => {
    const t = target();
    const dataset = `exportsync_test_${randomBytes(5).toString('hex')}`;
    const made: Destination[] = [];
    const open = async () => {
      const d = createBigQueryDestination({
        config: config(t, dataset),
        log: silentLogger,
        ...(t.authClient ? { authClient: t.authClient } : {}),
        retry: { attempts: 3, minDelayMs: 20, maxDelayMs: 200 },
        ...extra,
      });
      made.push(d);
      await d.open();
      return d;
    };
    const destination = await open();
    const bq = sdk(t);
    return {
      destination,
      rows: (table, orderBy) => tableRows(bq, dataset, table, orderBy),
      reopen: open,
      async cleanup() {
        for (const d of made) await d.close();
        await bq
          .dataset(dataset)
          .delete({ force: true })
          .catch(() => undefined);
      },
    };
  };
}
