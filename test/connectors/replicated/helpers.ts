import type {
  ColumnSpec,
  DestinationCapabilities,
  RecordBatch,
  Row,
  StreamDefinition,
  TableSchema,
  Window,
} from '../../../src/core/contracts.js';
import { silentLogger } from '../../../src/core/log.js';
import { createHttpClient } from '../../../src/http/client.js';
import { RowMapper } from '../../../src/schema/mapper.js';
import { createReplicatedSource, replicatedSourceSchema } from '../../../connectors/replicated/index.js';
import type { ReplicatedSimulator } from '../../../connectors/replicated/simulator.js';

export const TOKEN = 'replicated-test-token';
export const APP = 'app-acme';

export const CAPS: DestinationCapabilities = {
  name: 'test',
  maxIdentifierLength: 63,
  maxColumns: 1600,
  transactionalDdl: true,
};

export const day = (s: string): Date => new Date(`${s}T00:00:00.000Z`);
export const window = (from: string, to: string): Window => ({ from: day(from), to: day(to) });

export function sourceFor(sim: ReplicatedSimulator, config: Record<string, unknown> = {}) {
  return createReplicatedSource(
    replicatedSourceSchema.parse({
      type: 'replicated',
      app_id: APP,
      token: TOKEN,
      base_url: sim.url,
      ...config,
    }),
  );
}

export function context(batchRows = 10_000) {
  const http = createHttpClient({
    log: silentLogger,
    retryAttempts: 4,
    retryMinDelayMs: 1,
    retryMaxDelayMs: 5,
    requestTimeoutMs: 5_000,
    maxRequests: 100,
  });
  return { http, log: silentLogger, signal: new AbortController().signal, batchRows };
}

export async function collect(iterable: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const batch of iterable) out.push(batch);
  return out;
}

/** Source records through the real mapper: warehouse rows (audit columns included) and the schema. */
export async function mapped(
  batches: AsyncIterable<RecordBatch>,
  stream: StreamDefinition,
  persisted: ColumnSpec[] = [],
  columnBudget = 500,
): Promise<{ rows: Row[]; schema: TableSchema }> {
  const mapper = new RowMapper({
    table: `replicated_${stream.name}`,
    stream,
    persisted,
    capabilities: CAPS,
    columnBudget,
    runId: 'run-1',
    loadedAt: '2026-01-01T00:00:00.000Z',
    log: silentLogger,
  });
  const rows: Row[] = [];
  for await (const batch of batches) rows.push(...mapper.map(batch));
  return { rows, schema: mapper.schema };
}

/** Rows as objects keyed by warehouse column (NULL cells omitted), without audit columns. */
export function objects(rows: Row[], schema: TableSchema): Array<Record<string, string>> {
  return rows.map((row) => {
    const o: Record<string, string> = {};
    schema.columns.forEach((c, i) => {
      const v = row[i];
      if (c.origin !== 'audit' && v !== null && v !== undefined) o[c.name] = v;
    });
    return o;
  });
}
