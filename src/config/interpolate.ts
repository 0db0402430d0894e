/**
 * `${VAR}` interpolation, applied to the parsed YAML tree (string values only, never keys), so
 * an environment value can never inject YAML structure: a password containing `: ` or a newline
 * stays one string. Grammar, in string values:
 *   ${NAME}            the variable; unset → error naming the field and the variable
 *   ${NAME:-default}   the variable, or `default` when it is unset or empty (as in sh);
 *                      the default is literal text up to the first `}`
 *   $${                a literal `${` (the escape)
 * Substituted text is not scanned again. Any other `${…}` is an error (never passed through:
 * a typo like `${SCARF_API_TOKEN` must not become the token). Errors never contain values.
 *
 * Mapping entries whose value is null (`sync:` with every child commented out) are dropped, so
 * an empty key means "not set" and its default applies.
 */
import { formatPath } from './issues.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Interpolated {
  value: unknown;
  /** Problems, one `<path>: <message>` line each. */
  issues: string[];
  /** Path (as formatPath writes it) → variables its value came from. */
  envHints: Map<string, string[]>;
  /** Paths with an unset variable or a malformed reference (their value is not usable). */
  failedPaths: Set<string>;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)(\})?/g;
const BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export function interpolate(tree: unknown, env: Env): Interpolated {
  const issues: string[] = [];
  const envHints = new Map<string, string[]>();
  const failedPaths = new Set<string>();

  function expand(text: string, path: PropertyKey[]): string {
    const used: string[] = [];
    const out = text.replace(REFERENCE, (match, body: string | undefined, close: string | undefined) => {
      if (match === '$${') return '${';
      const where = formatPath(path);
      const fail = (message: string) => {
        issues.push(`${where}: ${message}`);
        failedPaths.add(where);
        return match;
      };
      if (close === undefined) return fail('unterminated ${ (write $${ for a literal ${)');
      const parts = BODY.exec(body ?? '');
      if (!parts)
        return fail('malformed ${...}: expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)');
      const [, name, fallback] = parts as unknown as [string, string, string | undefined];
      used.push(name);
      const value = env[name];
      if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
      if (value === undefined) return fail(`environment variable ${name} is not set`);
      return value;
    });
    if (used.length > 0) envHints.set(formatPath(path), used);
    return out;
  }

  function walk(node: unknown, path: PropertyKey[]): unknown {
    if (typeof node === 'string') return expand(node, path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) {
        if (value === null || value === undefined) continue;
        // defineProperty: a `__proto__` key stays a plain (unknown, rejected) key.
        Object.defineProperty(out, key, {
          value: walk(value, [...path, key]),
          enumerable: true,
          writable: true,
        });
      }
      return out;
    }
    return node;
  }

  return { value: walk(tree, []), issues, envHints, failedPaths };
}
