/**
 * A local stand-in of the BigQuery REST API for tests: node:http on 127.0.0.1, DuckDB executing the
 * SQL the BigQuery destination sends (after a small GoogleSQL → DuckDB translation). The real
 * @google-cloud/bigquery SDK talks to it through `apiEndpoint` and a static-token auth client, so
 * the destination's requests (load job configs, MERGE text, schema patches) can be asserted.
 * It is a protocol and contract fake, not a SQL oracle: see docs/bigquery.md for what it skips.
 *
 * For an end-to-end run through the CLI, `configYaml(dataset)` is a `destination:` section that
 * points a config file at it (with `access_token`, so no credential lookup leaves the machine).
 */
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';
import { Engine } from './engine.js';
import { createStandinServer, type Fault, type RecordedRequest } from './server.js';

export type { Fault, RecordedRequest };

export const STANDIN_TOKEN = 'standin-token';

export interface BigQueryStandin {
  /** http://127.0.0.1:PORT — the SDK's `apiEndpoint` (or the config's `api_endpoint`). */
  url: string;
  project: string;
  engine: Engine;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Makes the next `times` requests matching `path` (and `method`) fail; see Fault. */
  failNext(fault: Omit<Fault, 'times'> & { times?: number }): void;
  /** A `destination:` YAML section for an exportsync config pointing at the stand-in. */
  configYaml(dataset: string): string;
  /** An auth client with a static token (no metadata-server or token-endpoint traffic). */
  authClient(): OAuth2Client;
  /** Query texts of every query job received, in order. */
  queries(): string[];
  stop(): Promise<void>;
}

export async function startBigQueryStandin(opts: { project?: string } = {}): Promise<BigQueryStandin> {
  const project = opts.project ?? 'standin-project';
  const engine = await Engine.create();
  const { server, requests, faults } = createStandinServer(engine, project);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    project,
    engine,
    requests,
    failNext(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    configYaml(dataset) {
      return [
        'destination:',
        '  type: bigquery',
        `  project: ${project}`,
        `  dataset: ${dataset}`,
        `  api_endpoint: ${url}`,
        `  access_token: ${STANDIN_TOKEN}`,
        '',
      ].join('\n');
    },
    authClient() {
      const client = new OAuth2Client();
      client.setCredentials({ access_token: STANDIN_TOKEN });
      return client;
    },
    queries() {
      return requests
        .filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path) && !r.path.startsWith('/upload'))
        .map((r) => (r.body?.configuration as { query?: { query?: string } })?.query?.query ?? '')
        .filter(Boolean);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      engine.close();
    },
  };
}
