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
import { z } from 'zod';
import { configSchema } from './schema.js';

export const JSON_SCHEMA_PATH = fileURLToPath(new URL('../../schema/exportsync.schema.json', import.meta.url));

/** The file's exact text (2-space JSON, trailing newline). Draft-07: the widest editor support. */
export function generateJsonSchema(): string {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' });
  const document = { ...generated, title: 'exportsync configuration' };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(JSON_SCHEMA_PATH, generateJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_PATH}`);
}
