import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/core/defaults.js';
import { generateJsonSchema, JSON_SCHEMA_PATH } from '../../src/config/write-json-schema.js';

describe('editor JSON Schema', () => {
  it('is-committed-exactly-as-generated (run: npx tsx src/config/write-json-schema.ts)', async () => {
    expect(await readFile(JSON_SCHEMA_PATH, 'utf8')).toBe(await generateJsonSchema());
  });

  it('describes-strict-objects-defaults-and-the-destination-choice', async () => {
    const schema = JSON.parse(await generateJsonSchema());
    expect(schema.required).toEqual(['destination', 'sources']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.sync.additionalProperties).toBe(false);
    expect(schema.properties.sync.properties.backfill_days).toMatchObject({
      type: 'integer',
      minimum: 1,
      default: DEFAULTS.backfill_days,
    });
    const types = schema.properties.destination.oneOf.map(
      (o: { properties: { type: { const: string } } }) => o.properties.type.const,
    );
    expect(types).toEqual(['duckdb', 'postgres', 'bigquery', 'snowflake']);
    const scarf = schema.properties.sources.items.oneOf?.[0] ?? schema.properties.sources.items;
    // owner and token are required in api mode only (files mode reads a bucket): the loader checks
    // that (test/connectors/scarf/files-config.test.ts), the JSON Schema only requires `type`
    expect(scarf.required).toEqual(['type']);
    expect(Object.keys(scarf.properties)).toEqual(
      expect.arrayContaining(['owner', 'token', 'mode', 'files']),
    );
    expect(scarf.additionalProperties).toBe(false);
  });
});
