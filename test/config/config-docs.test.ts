/**
 * docs/config.md is generated from the config schema and must be committed exactly as generated
 * (run: npx tsx src/config/write-config-docs.ts). Independently of the generator, every key the
 * loader accepts — found by walking the zod schema itself — must have a row, so a generator bug
 * cannot silently drop keys from the reference.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import {
  CONFIG_DOCS_PATH,
  configJsonSchema,
  generateConfigDocs,
  keyRows,
} from '../../src/config/write-config-docs.js';

/** Strips optional/default/prefault/pipe wrappers to the schema that holds the shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { def: { innerType?: z.ZodType; in?: z.ZodType } };
  for (;;) {
    const inner = s.def.innerType ?? (s.def.type === 'pipe' ? s.def.in : undefined);
    if (!inner) return s;
    s = inner as typeof s;
  }
}

/** An object, or a union of objects (a discriminated `type`). */
function isObjectLike(schema: z.ZodType): boolean {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) return true;
  return s instanceof z.ZodUnion && ((s as z.ZodUnion).options as z.ZodType[]).every(isObjectLike);
}

/** Every leaf key path, as the docs write it (`sources[].x`, `destination.x`, `sync.retry.x`). */
function leafKeys(schema: z.ZodType, prefix: string): string[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodDiscriminatedUnion || s instanceof z.ZodUnion) {
    const options = (s as z.ZodUnion).options as z.ZodType[];
    if (options.every((o) => unwrap(o) instanceof z.ZodObject)) {
      return [...new Set(options.flatMap((o) => leafKeys(o, prefix)))];
    }
  }
  if (s instanceof z.ZodArray && isObjectLike(s.element as z.ZodType)) {
    return leafKeys(s.element as z.ZodType, `${prefix.replace(/\.$/, '')}[].`);
  }
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => {
      const inner = unwrap(v);
      const listOfObjects = inner instanceof z.ZodArray && isObjectLike(inner.element as z.ZodType);
      return isObjectLike(v) || listOfObjects ? leafKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`];
    });
  }
  return [prefix.replace(/\.$/, '')];
}

describe('docs/config.md', () => {
  it('is-committed-exactly-as-generated (run: npx tsx src/config/write-config-docs.ts)', async () => {
    expect(await readFile(CONFIG_DOCS_PATH, 'utf8')).toBe(generateConfigDocs());
  });

  it('has-a-row-for-every-key-the-loader-accepts', () => {
    const docs = generateConfigDocs();
    const keys = leafKeys(configSchema, '');
    expect(keys.length).toBeGreaterThan(40);
    expect(keys).toEqual(
      expect.arrayContaining(['sync.retry.attempts', 'sources[].token', 'metrics.textfile']),
    );
    const missing = keys.filter((k) => !docs.includes(`| \`${k}\` |`));
    expect(missing).toEqual([]);
  });

  it('describes-every-key-destinations-sync-metrics-and-sources', () => {
    const schema = configJsonSchema();
    const props = schema.properties ?? {};
    const rows = [
      ...(props.destination?.oneOf ?? []).flatMap((v) => keyRows(v, 'destination.')),
      ...keyRows(props.sync ?? {}, 'sync.'),
      ...keyRows(props.metrics ?? {}, 'metrics.'),
      ...(props.sources?.items?.oneOf ?? []).flatMap((v) => keyRows(v, 'sources[].')),
    ];
    expect(rows.filter((r) => r.key.startsWith('sources[].')).length).toBeGreaterThan(20);
    expect(rows.filter((r) => r.description === '—').map((r) => r.key)).toEqual([]);
  });

  it('shows-defaults-and-types-from-the-schema', () => {
    const docs = generateConfigDocs();
    expect(docs).toContain('| `sync.backfill_days` | integer ≥ 1 |  | `31` |');
    expect(docs).toContain('| `sources[].lookback_days` | integer ≥ 0 |  | `sync.lookback_days` |');
    expect(docs).toMatch(/\| `metrics\.pushgateway_url` \| URL \|/);
  });
});

describe('docs/commands.md', () => {
  it('names-every-command-and-flag-the-cli-defines', async () => {
    const docs = await readFile(new URL('../../docs/commands.md', import.meta.url), 'utf8');
    // every file that defines commands: cli.ts and the register*/define* helpers in src/commands
    const dir = new URL('../../src/commands/', import.meta.url);
    const files = [
      new URL('../../src/cli.ts', import.meta.url),
      ...(await readdir(dir)).filter((f) => f.endsWith('.ts')).map((f) => new URL(f, dir)),
    ];
    const sources = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    const text = sources.join('\n');
    const commands = [...text.matchAll(/\.command\('([a-z-]+)/g)].map((m) => m[1] as string);
    const flags = [...text.matchAll(/\.(?:option|requiredOption)\(\s*'(?:-[a-z], )?(--[a-z-]+)/g)].map(
      (m) => m[1] as string,
    );
    expect(commands).toEqual(
      expect.arrayContaining(['run', 'check', 'plan', 'backfill', 'status', 'show', 'reset', 'runs']),
    );
    expect(
      commands.filter(
        (c) =>
          !docs.includes(`## ${c}`) && !docs.includes(` ${c}\n`) && !new RegExp(`## \\S+ ${c}\\b`).test(docs),
      ),
    ).toEqual([]);
    expect(flags.filter((f) => !docs.includes(`\`${f}`))).toEqual([]);
  });
});
