/** The Snowflake destination (being built: see issue; until then opening it fails with a ConfigError). */
import type { Destination, Logger } from '../../core/contracts.js';
import { ConfigError } from '../../core/errors.js';
import type { snowflakeDestinationSchema } from '../../config/snowflake.js';
import type { z } from 'zod';

export interface SnowflakeDestinationOptions {
  config: z.infer<typeof snowflakeDestinationSchema>;
  log: Logger;
}

export function createSnowflakeDestination(options: SnowflakeDestinationOptions): Destination {
  void options;
  throw new ConfigError('destination.type: snowflake is not available in this build yet');
}
