/**
 * Creates the configured destination. Each backend's SDK is imported lazily, so a Postgres user
 * never loads DuckDB, BigQuery or Snowflake code.
 */
import type { Destination, Logger } from '../core/contracts.js';
import type { Config } from '../config/load.js';

export interface DestinationOptions {
  /**
   * How long to wait when the database is held by another process before failing with a
   * LockedError (`sync.lock_wait_ms`). Stream locks take their wait per call; DuckDB's file lock is
   * taken when the file opens, so it needs it here.
   */
  lockWaitMs?: number;
}

export async function createDestination(
  config: Config['destination'],
  log: Logger,
  options: DestinationOptions = {},
): Promise<Destination> {
  const child = log.child({ destination: config.type });
  switch (config.type) {
    case 'postgres': {
      const { createPostgresDestination } = await import('./postgres/index.js');
      return createPostgresDestination({
        url: config.url,
        schema: config.schema,
        log: child,
        statementTimeoutMs: config.statement_timeout_ms,
        ...(config.bulk_first_load ? {} : { bulkFirstLoadMinRows: Number.POSITIVE_INFINITY }),
      });
    }
    case 'duckdb': {
      const { createDuckDbDestination } = await import('./duckdb/index.js');
      return createDuckDbDestination({
        path: config.path,
        schema: config.schema,
        log: child,
        lockWaitMs: options.lockWaitMs ?? 0,
        ...(config.bulk_first_load ? {} : { bulkFirstLoadMinRows: Number.POSITIVE_INFINITY }),
      });
    }
    case 'bigquery': {
      const { createBigQueryDestination } = await import('./bigquery/index.js');
      return createBigQueryDestination({ config, log: child });
    }
    case 'snowflake': {
      const { createSnowflakeDestination } = await import('./snowflake/index.js');
      return createSnowflakeDestination({ config, log: child });
    }
  }
}
