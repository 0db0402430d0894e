/**
 * Generates docs/config.md — every config key with its type, default and description — from the
 * same JSON Schema editors use (itself generated from the zod schema), so the reference cannot
 * drift from what the loader accepts. test/config/config-docs.test.ts fails when the committed
 * file differs from a fresh generation: after a schema change run
 *   npx tsx src/config/write-config-docs.ts
 * A key's description is its zod `.describe()`; a key without one shows "—" (add one there, not
 * here). A per-source key named like a `sync` key defaults to that `sync` key. Source keys every
 * connector declares identically are listed once, in a table of their own, before the connectors'.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.js';

export const CONFIG_DOCS_PATH = fileURLToPath(new URL('../../docs/config.md', import.meta.url));

/** The subset of JSON Schema draft-07 that z.toJSONSchema emits for this config. */
export interface JsonNode {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonNode>;
  required?: string[];
  items?: JsonNode;
  oneOf?: JsonNode[];
  anyOf?: JsonNode[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
}

export interface KeyRow {
  key: string;
  type: string;
  required: boolean;
  /** Required only when its optional parent object is written (e.g. `files`): the parent's key. */
  requiredWith?: string;
  default: string;
  description: string;
}

export function configJsonSchema(): JsonNode {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' }) as JsonNode;
}

const BIG = 2 ** 53 - 1;
const code = (v: unknown): string => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

/** Human type of a node: `integer ≥ 1`, `string (URL)`, one of `a`, `b`, `list of …`. */
export function typeOf(node: JsonNode): string {
  if (node.const !== undefined) return code(node.const);
  if (node.enum) return `one of ${node.enum.map(code).join(', ')}`;
  const alternatives = node.oneOf ?? node.anyOf;
  if (alternatives) return alternatives.map(typeOf).join(' or ');
  const type = Array.isArray(node.type) ? node.type.join(' | ') : (node.type ?? 'any');
  if (type === 'integer' || type === 'number') {
    const bounds: string[] = [];
    if (node.minimum !== undefined && node.minimum > -BIG) bounds.push(`≥ ${node.minimum}`);
    if (node.exclusiveMinimum !== undefined) bounds.push(`> ${node.exclusiveMinimum}`);
    if (node.maximum !== undefined && node.maximum < BIG) bounds.push(`≤ ${node.maximum}`);
    return [type, ...bounds].join(' ');
  }
  if (type === 'string') {
    if (node.format === 'uri') return 'URL';
    const notes: string[] = [];
    if (node.pattern) notes.push(`matching ${code(node.pattern)}`);
    if (node.maxLength !== undefined) notes.push(`at most ${node.maxLength} characters`);
    return notes.length ? `string ${notes.join(', ')}` : 'string';
  }
  if (type === 'array') return `list of ${node.items ? typeOf(node.items) : 'values'}`;
  return type;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * Leaf keys of an object node (nested objects are flattened as `a.b`). A nested object with a
 * description gets a row of its own before its keys; the keys of an optional nested object are
 * required only with it (`requiredWith`), which the table says instead of a bare "yes".
 */
export function keyRows(
  node: JsonNode,
  prefix: string,
  inherit: (key: string) => string = () => '',
  optionalParent?: string,
): KeyRow[] {
  const rows: KeyRow[] = [];
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = `${prefix}${name}`;
    if (child.type === 'object' && child.properties) {
      const parentRequired = optionalParent === undefined && required.has(name);
      if (child.description) {
        rows.push({
          key,
          type: 'object',
          required: parentRequired,
          default: '',
          description: child.description,
        });
      }
      rows.push(
        ...keyRows(child, `${key}.`, undefined, parentRequired ? undefined : (optionalParent ?? key)),
      );
      continue;
    }
    const inherited = inherit(name);
    const isRequired = required.has(name);
    rows.push({
      key,
      type: typeOf(child),
      required: isRequired && optionalParent === undefined,
      ...(isRequired && optionalParent !== undefined ? { requiredWith: optionalParent } : {}),
      default: child.default !== undefined ? code(child.default) : inherited,
      description:
        child.description ??
        (name === 'type' && child.const !== undefined ? `Selects this ${kind(prefix)}.` : '—'),
    });
  }
  return rows;
}

const kind = (prefix: string): string =>
  prefix.startsWith('sources') ? 'connector' : prefix.startsWith('destination') ? 'destination' : 'variant';

function requiredCell(row: KeyRow): string {
  if (row.required) return 'yes';
  return row.requiredWith ? `with \`${row.requiredWith.replace(/^sources\[\]\./, '')}\`` : '';
}

function table(rows: KeyRow[]): string[] {
  return [
    '| key | type | required | default | description |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.key}\` | ${cell(r.type)} | ${requiredCell(r)} | ${cell(r.default)} | ${cell(r.description)} |`,
    ),
  ];
}

const variantName = (node: JsonNode): string => String(node.properties?.type?.const ?? '?');

/** `sources[].files.url` → `files`: the top-level key of a source row. */
const leaf = (key: string): string => key.replace(/^sources\[\]\./, '').split('.')[0] ?? key;

/** Source keys (other than `type`) that every connector declares identically: one shared table. */
function sharedSourceKeys(variants: JsonNode[]): Set<string> {
  const [first, ...rest] = variants;
  if (!first || rest.length === 0) return new Set();
  return new Set(
    Object.entries(first.properties ?? {})
      .filter(([name]) => name !== 'type')
      .filter(([name, node]) =>
        rest.every((v) => JSON.stringify(v.properties?.[name]) === JSON.stringify(node)),
      )
      .map(([name]) => name),
  );
}

/** A connector's rows for reading top-down: `type`, `mode`, its other keys, the `files` block last. */
function sourceOrder(rows: KeyRow[]): KeyRow[] {
  const rank = (r: KeyRow): number => {
    const top = leaf(r.key);
    return top === 'type' ? 0 : top === 'mode' ? 1 : top === 'files' ? 3 : 2;
  };
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
    .map(({ r }) => r);
}

/** The whole docs/config.md text. */
export function generateConfigDocs(schema: JsonNode = configJsonSchema()): string {
  const props = schema.properties ?? {};
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npx tsx src/config/write-config-docs.ts` from the config schema (src/config/schema.ts);',
    '     do not edit by hand: test/config/config-docs.test.ts fails when this file is stale. -->',
    '',
    'One YAML file: `--config <file>`, else `$EXPORTSYNC_CONFIG`, else `./exportsync.yaml`.',
    '`${VAR}` reads the environment (`${VAR:-text}` with a fallback, `$${` for a literal `${`);',
    'a plain number string where a number is expected is accepted. Unknown keys are errors.',
    'Editors complete and check the file from [`schema/exportsync.schema.json`](../schema/exportsync.schema.json).',
    '',
    `Top-level keys: ${Object.keys(props)
      .map((k) => `\`${k}\`${schema.required?.includes(k) ? ' (required)' : ''}`)
      .join(', ')}.`,
  ];

  const destination = props.destination;
  if (destination) {
    out.push('', '## destination', '', destination.description ?? '', '');
    for (const variant of destination.oneOf ?? [destination]) {
      out.push(
        `### destination type \`${variantName(variant)}\``,
        '',
        ...table(keyRows(variant, 'destination.')),
        '',
      );
    }
  }
  const sync = props.sync;
  if (sync) out.push('## sync', '', sync.description ?? '', '', ...table(keyRows(sync, 'sync.')), '');

  const sources = props.sources;
  if (sources?.items) {
    const syncKeys = new Set(Object.keys(sync?.properties ?? {}));
    const inherit = (key: string) => (syncKeys.has(key) ? `\`sync.${key}\`` : '');
    const variants = sources.items.oneOf ?? [sources.items];
    const shared = sharedSourceKeys(variants);
    out.push('## sources', '', sources.description ?? '', '');
    if (shared.size > 0 && variants[0]) {
      out.push(
        '### keys every source accepts',
        '',
        'Every source accepts these, whatever its `type`. A key named like a `sync` key overrides it for this source only; unset, the `sync` value applies.',
        '',
        ...table(keyRows(variants[0], 'sources[].', inherit).filter((r) => shared.has(leaf(r.key)))),
        '',
      );
    }
    for (const variant of variants) {
      const type = variantName(variant);
      const rows = keyRows(variant, 'sources[].', inherit).filter((r) => !shared.has(leaf(r.key)));
      out.push(
        `### source type \`${type}\``,
        '',
        ...(shared.size > 0
          ? ['Also accepts the [keys every source accepts](#keys-every-source-accepts).', '']
          : []),
        ...table(sourceOrder(rows)),
        '',
        `What each stream loads and how: [connectors/${type}/README.md](../connectors/${type}/README.md).`,
        '',
      );
    }
  }
  for (const [name, node] of Object.entries(props)) {
    if (['destination', 'sync', 'sources'].includes(name)) continue;
    out.push(`## ${name}`, '', node.description ?? '', '', ...table(keyRows(node, `${name}.`)), '');
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(CONFIG_DOCS_PATH, generateConfigDocs());
  console.log(`wrote ${CONFIG_DOCS_PATH}`);
}
