/**
 * GoogleSQL → DuckDB, for exactly the statements the BigQuery destination emits (and the test
 * harness's reads). Not a general translator: anything else passes through and fails loudly in
 * DuckDB, which is the point — a new construct in the writer must be taught here on purpose.
 *
 * BIGNUMERIC has no DuckDB type wide enough (DECIMAL stops at 38 digits): it is stored as VARCHAR
 * text, which keeps its values exact but skips its validation (documented in docs/bigquery.md).
 */

export const DUCK_TYPES: Record<string, string> = {
  INT64: 'BIGINT',
  INTEGER: 'BIGINT',
  FLOAT64: 'DOUBLE',
  FLOAT: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BIGNUMERIC: 'VARCHAR',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  STRING: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATE: 'DATE',
  JSON: 'JSON',
};

/** Splits text into code and quoted parts ('…', "…", `…`) so rewrites only touch code. */
function segments(sql: string): Array<{ code: boolean; text: string }> {
  const out: Array<{ code: boolean; text: string }> = [];
  let i = 0;
  let start = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      if (i > start) out.push({ code: true, text: sql.slice(start, i) });
      let j = i + 1;
      while (j < sql.length && sql[j] !== ch) j += sql[j] === '\\' ? 2 : 1;
      out.push({ code: false, text: sql.slice(i, j + 1) });
      i = j + 1;
      start = i;
    } else i++;
  }
  if (start < sql.length) out.push({ code: true, text: sql.slice(start) });
  return out;
}

/** Splits a script at top-level semicolons. */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const s of segments(script)) {
    if (!s.code) {
      current += s.text;
      continue;
    }
    const pieces = s.text.split(';');
    for (let k = 0; k < pieces.length; k++) {
      current += pieces[k];
      if (k < pieces.length - 1) {
        if (current.trim()) out.push(current.trim());
        current = '';
      }
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** Replaces NAME( … ) calls (matching parentheses, top-level commas) with `rewrite(args)`. */
function rewriteCalls(sql: string, name: string, rewrite: (args: string[]) => string): string {
  const re = new RegExp(`(?<![A-Za-z0-9_.])${name.replace('.', '\\.')}\\(`, 'gi');
  let m: RegExpExecArray | null;
  while ((m = re.exec(sql))) {
    let depth = 1;
    let j = m.index + m[0].length;
    const args: string[] = [];
    let argStart = j;
    let quote = '';
    for (; j < sql.length && depth > 0; j++) {
      const ch = sql[j]!;
      if (quote) {
        if (ch === quote) quote = '';
        continue;
      }
      if (ch === "'" || ch === '"' || ch === '`') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
      else if (ch === ',' && depth === 1) {
        args.push(sql.slice(argStart, j).trim());
        argStart = j + 1;
      }
    }
    args.push(sql.slice(argStart, j - 1).trim());
    const replacement = rewrite(args);
    sql = sql.slice(0, m.index) + replacement + sql.slice(j);
    re.lastIndex = m.index + replacement.length;
  }
  return sql;
}

const TYPE_RE = new RegExp(`\\b(${Object.keys(DUCK_TYPES).join('|')})\\b`, 'g');

/**
 * One statement to DuckDB. `vars` are script variables (substituted as literals), `params` the
 * declared query parameter types (each @name becomes a typed $name).
 */
export function translate(sql: string, params: Map<string, string>, vars: Map<string, string>): string {
  let out = sql;
  out = rewriteCalls(out, 'FORMAT_TIMESTAMP', ([fmt, ts]) => {
    const f = (fmt ?? '').replace('%E6S', '%S.%f');
    return `strftime(timezone('UTC', ${ts}), ${f})`;
  });
  out = rewriteCalls(out, 'SAFE.PARSE_JSON', ([v]) => `TRY_CAST(${v} AS JSON)`);
  out = rewriteCalls(out, 'PARSE_JSON', ([v]) => `json(${v})`);
  out = rewriteCalls(out, 'TO_JSON_STRING', ([v]) => `CAST(${v} AS VARCHAR)`);
  out = rewriteCalls(out, 'TIMESTAMP_ADD', ([ts, interval]) => {
    const m = /^INTERVAL\s+(.+)\s+SECOND$/i.exec(interval ?? '');
    return `(${ts} + to_seconds(CAST(${m?.[1] ?? interval} AS BIGINT)))`;
  });
  out = rewriteCalls(out, 'TIMESTAMP_TRUNC', ([ts]) => `date_trunc('day', ${ts})`);
  out = rewriteCalls(out, 'COUNTIF', ([c]) => `count_if(${c})`);
  return segments(out)
    .map((s) => {
      if (!s.code) return s.text.startsWith('`') ? `"${s.text.slice(1, -1).replace(/"/g, '""')}"` : s.text;
      let t = s.text;
      t = t.replace(/\bCURRENT_TIMESTAMP\(\)/gi, 'now()');
      t = t.replace(/\bSAFE_CAST\(/gi, 'TRY_CAST(');
      t = t.replace(/@@row_count/gi, vars.get('@@row_count') ?? '0');
      t = t.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_all, name: string) => {
        const type = params.get(name);
        if (!type) throw new Error(`query parameter @${name} is not declared`);
        return `CAST($${name} AS ${DUCK_TYPES[type] ?? 'VARCHAR'})`;
      });
      t = t.replace(/\b_es_[a-z_]+\b/g, (name) => vars.get(name) ?? name);
      return t.replace(TYPE_RE, (ty) => DUCK_TYPES[ty] ?? ty);
    })
    .join('');
}
