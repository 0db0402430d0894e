/**
 * Generates schema/exportsync.schema.json, the JSON Schema editors use to complete and check
 * config files (`# yaml-language-server: $schema=...`), from the zod schema: one source of truth.
 * test/config/json-schema.test.ts fails when the committed file differs from a fresh generation,
 * so a schema change without `npx tsx src/config/write-json-schema.ts` cannot be committed unseen.
 *
 * It describes what a user may WRITE (io: input: defaulted keys optional). `${VAR}` values in
 * number fields (coerced by the loader) are flagged by editors as strings; that is accepted.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { z } from 'zod';
import { configSchema } from './schema.js';

export const JSON_SCHEMA_PATH = fileURLToPath(
  new URL('../../schema/exportsync.schema.json', import.meta.url),
);

/**
 * The file's exact text, formatted by the repo's prettier config (so `prettier --check .` and this
 * generator agree). Draft-07: the widest editor support.
 */
export async function generateJsonSchema(): Promise<string> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' });
  const document = { ...generated, title: 'exportsync configuration' };
  const options = (await prettier.resolveConfig(JSON_SCHEMA_PATH)) ?? {};
  return prettier.format(JSON.stringify(document, null, 2), { ...options, parser: 'json' });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(JSON_SCHEMA_PATH, await generateJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_PATH}`);
}
