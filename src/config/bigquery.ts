/**
 * The `destination: {type: bigquery}` section. Credentials come from Application Default
 * Credentials, a key file path, or a short-lived access token from the environment: never inline
 * in the config file.
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
    access_token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A short-lived OAuth2 access token (write ${BQ_ACCESS_TOKEN}); when set, no other credential is looked up. Not refreshed.',
      ),
    create_dataset: z
      .boolean()
      .default(true)
      .describe('Create the dataset (in `location`) when it does not exist (default true).'),
    api_endpoint: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .optional()
      .describe('BigQuery API base URL, for emulators and tests (default https://bigquery.googleapis.com).'),
    lock_ttl_seconds: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(120)
      .describe(
        'Lifetime of a stream lock lease; renewed every third of it while held, so a killed run frees its streams after at most this long.',
      ),
  })
  .strict();

export type BigQueryDestinationConfig = z.output<typeof bigqueryDestinationSchema>;
