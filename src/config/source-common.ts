import { z } from 'zod';

/**
 * Fields every source section accepts, whatever its connector. Per-source overrides of the
 * `sync` defaults; unset means "use `sync.<same key>`".
 */
export const sourceCommonFields = {
  /** Unique name of this source in the config; prefixes table names and state keys. Default: the type. */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'lower snake_case: letters, digits, underscores, starting with a letter')
    .optional(),
  /** Streams to sync; default: every stream the connector has. */
  streams: z.array(z.string().min(1)).min(1).optional(),
  backfill_days: z.number().int().min(1).optional(),
  lookback_days: z.number().int().min(0).optional(),
  /** Days per request window; default: the stream's own (1 for Scarf events). */
  window_days: z.number().int().min(1).optional(),
  max_requests_per_run: z.number().int().min(1).optional(),
};
