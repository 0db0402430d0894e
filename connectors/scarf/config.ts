import { z } from 'zod';
import { sourceCommonFields } from '../../src/config/source-common.js';

/** The `sources[]` entry of a Scarf source. */
export const scarfSourceSchema = z
  .object({
    type: z.literal('scarf'),
    ...sourceCommonFields,
    /** Scarf user or organisation name (`{owner}` in the API paths). */
    owner: z.string().min(1),
    /** API token; write `${SCARF_API_TOKEN}` so it comes from the environment. */
    token: z.string().min(1),
    /** API origin; point it at a proxy or the simulator. */
    base_url: z.url().default('https://api.scarf.sh'),
  })
  .strict();

export type ScarfSourceConfig = z.infer<typeof scarfSourceSchema>;
