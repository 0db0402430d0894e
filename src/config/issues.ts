/**
 * Turns zod issues into one short human line each: `<path>: <message>`, with paths written as a
 * user finds them in the file (`sources[1].owner`). Messages are built from the schema only and
 * NEVER from the input value: a config value may be a token or a connection URL with a password,
 * and these lines end up in terminals and CI logs.
 */
import { z } from 'zod';
import { redactSecrets } from '../core/errors.js';

type Path = ReadonlyArray<PropertyKey>;

/** `['sources', 1, 'owner']` → `sources[1].owner`; the empty path is `(root)`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const text = String(key);
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) out += out === '' ? text : `.${text}`;
      else out += `[${JSON.stringify(redactSecrets(text))}]`;
    }
  }
  return out === '' ? '(root)' : out;
}

/** "must be an integer ≥ 1" style description of a number schema's rule. */
function numberRule(schema: unknown): string {
  if (!(schema instanceof z.ZodNumber)) return 'must be a number';
  const kind = schema.format === 'safeint' || schema.format === 'int32' ? 'an integer' : 'a number';
  const bounds: string[] = [];
  if (schema.minValue !== null && schema.minValue > Number.MIN_SAFE_INTEGER)
    bounds.push(`≥ ${schema.minValue}`);
  if (schema.maxValue !== null && schema.maxValue < Number.MAX_SAFE_INTEGER)
    bounds.push(`≤ ${schema.maxValue}`);
  return `must be ${kind}${bounds.length ? ' ' + bounds.join(' and ') : ''}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  boolean: 'true or false',
};

const oneOf = (values: ReadonlyArray<unknown>) => `must be one of: ${values.map(String).join(', ')}`;

/**
 * Per-parse zod error map. Runs only where the schema gave no message of its own (so a
 * connector's explicit message, like the `name` pattern's, is kept). Returns undefined to fall
 * back to zod's text for codes we do not expect in a config.
 */
export const humanErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      if (issue.expected === 'number' || issue.expected === 'int') return numberRule(issue.schema);
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'number') return numberRule(issue.schema);
      if (issue.origin === 'string') {
        if (issue.code === 'too_small' && Number(bound) === 1) return 'must not be empty';
        return `must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} characters`;
      }
      if (issue.origin === 'array') {
        if (issue.code === 'too_small' && Number(bound) === 1) return 'must not be empty';
        return `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} entries`;
      }
      return undefined;
    }
    case 'invalid_format':
      if (issue.format === 'url') return 'must be a URL';
      if (issue.format === 'regex' && typeof issue.pattern === 'string') return `must match ${issue.pattern}`;
      return `must be a valid ${issue.format}`;
    case 'invalid_value':
      return oneOf(issue.values);
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_union': {
      const options = (issue as { options?: unknown }).options;
      if (Array.isArray(options)) {
        const present =
          typeof issue.input === 'object' && issue.input !== null && issue.discriminator !== undefined;
        const missing =
          present && (issue.input as Record<string, unknown>)[issue.discriminator!] === undefined;
        return missing ? `required (${oneOf(options).replace('must be ', '')})` : oneOf(options);
      }
      return 'does not match any allowed form';
    }
    default:
      return undefined;
  }
};

/** The known key within a small edit distance of a misspelt one, for "did you mean". */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * One line per problem. An unknown-keys issue becomes one line per key, each with its own path
 * (`sync.backfil_days: unknown key (did you mean backfill_days?)`). `envHints` maps a path to the
 * environment variables its value came from, so `${DAYS}`-fed values say where to look.
 */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  envHints: ReadonlyMap<string, string[]>,
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = (issue as { known?: string[] }).known ?? [];
      for (const key of issue.keys) {
        const suggestion = closestKey(key, known);
        const hint = suggestion ? ` (did you mean ${suggestion}?)` : '';
        lines.push(`${formatPath([...issue.path, key])}: unknown key${hint}`);
      }
      continue;
    }
    const path = formatPath(issue.path);
    const vars = envHints.get(path);
    const from = vars ? ` (value from ${vars.map((v) => '$' + v).join(', ')})` : '';
    lines.push(`${path}: ${issue.message}${from}`);
  }
  return lines;
}

/**
 * zod's unrecognized_keys issue does not carry the object's known keys; this error map wrapper
 * records them on the issue (as `known`) so formatIssues can suggest the closest one.
 */
export const errorMapWithKnownKeys: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'unrecognized_keys' && issue.schema instanceof z.ZodObject) {
    (issue as Record<string, unknown>).known = Object.keys(issue.schema.shape);
  }
  return humanErrorMap(issue);
};
