/**
 * The `destination: {type: bigquery}` section. Credentials come from Application Default
 * Credentials or a key file path: never inline in the config file.
 */
import { z } from 'zod';
import { DEFAULTS } from '../core/defaults.js';

export const bigqueryDestinationSchema = z
  .object({
    type: z.literal('bigquery'),
    project: z.string().min(1).describe('Google Cloud project id that holds the dataset.'),
    dataset: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,1024}$/, 'letters, digits and underscores')
      .default(DEFAULTS.schema)
      .describe(`Dataset holding the tables (default ${DEFAULTS.schema}).`),
    location: z.string().min(1).optional().describe('Dataset location, e.g. EU or us-central1.'),
    key_file: z
      .string()
      .min(1)
      .optional()
      .describe('Service-account key file path; default: Application Default Credentials.'),
  })
  .strict();
