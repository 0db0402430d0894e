/** The BigQuery destination (being built: see issue; until then opening it fails with a ConfigError). */
import type { Destination, Logger } from '../../core/contracts.js';
import { ConfigError } from '../../core/errors.js';
import type { bigqueryDestinationSchema } from '../../config/bigquery.js';
import type { z } from 'zod';

export interface BigQueryDestinationOptions {
  config: z.infer<typeof bigqueryDestinationSchema>;
  log: Logger;
}

export function createBigQueryDestination(options: BigQueryDestinationOptions): Destination {
  void options;
  throw new ConfigError('destination.type: bigquery is not available in this build yet');
}
