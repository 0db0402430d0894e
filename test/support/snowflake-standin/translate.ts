/**
 * Snowflake → DuckDB rewrites for the statements the Snowflake destination emits (not for
 * Snowflake SQL in general). Rewrites apply only outside quoted text, so identifiers and string
 * literals are never touched. What is not rewritten runs as written: the writer keeps to the SQL
 * both engines share (MERGE, QUALIFY, IS DISTINCT FROM, CAST, ADD COLUMN IF NOT EXISTS).
 * If a rewrite here were too generous, the stand-in would accept SQL real Snowflake refuses; each
 * one is therefore a plain type or function rename.
 */

/** Macros and views installed once in the stand-in's DuckDB (main schema). */
export const SETUP_SQL = [
  `SET TimeZone = 'UTC'`,
  `CREATE MACRO parse_json(x) AS CAST(x AS JSON)`,
  `CREATE MACRO convert_timezone(tz, x) AS timezone(tz, x)`,
  `CREATE MACRO to_varchar(x, f) AS CASE f
     WHEN 'YYYY-MM-DD' THEN strftime(x, '%Y-%m-%d')
     WHEN 'YYYY-MM-DD"T"HH24:MI:SS.FF6"Z"' THEN strftime(x, '%Y-%m-%dT%H:%M:%S.%fZ')
     WHEN 'YYYY-MM-DD"T"HH24:MI:SS.FF3"Z"' THEN strftime(x, '%Y-%m-%dT%H:%M:%S.%gZ')
     ELSE error('stand-in: unsupported TO_VARCHAR format ' || f) END`,
  `CREATE MACRO to_json(x) AS CAST(x AS VARCHAR)`,
  // information_schema.columns as Snowflake spells its types
  `CREATE VIEW main.sf_columns AS SELECT table_catalog, table_schema, table_name, column_name,
     ordinal_position, is_nullable,
     CASE WHEN data_type LIKE 'DECIMAL%' THEN 'NUMBER' WHEN data_type IN ('BIGINT','INTEGER','HUGEINT') THEN 'NUMBER'
          WHEN data_type = 'VARCHAR' THEN 'TEXT' WHEN data_type = 'DOUBLE' THEN 'FLOAT'
          WHEN data_type = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_TZ' WHEN data_type = 'JSON' THEN 'VARIANT'
          ELSE data_type END AS data_type,
     CASE WHEN data_type LIKE 'DECIMAL%' THEN numeric_precision WHEN data_type IN ('BIGINT','INTEGER','HUGEINT') THEN 38 END AS numeric_precision,
     CASE WHEN data_type LIKE 'DECIMAL%' THEN numeric_scale WHEN data_type IN ('BIGINT','INTEGER','HUGEINT') THEN 0 END AS numeric_scale
     FROM information_schema.columns`,
];

const REWRITES: Array<[RegExp, string]> = [
  [/\bNUMBER\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)/gi, 'DECIMAL($1,$2)'],
  [/\bTIMESTAMP_TZ\b/gi, 'TIMESTAMPTZ'],
  [/\bVARIANT\b/gi, 'JSON'],
  [/\bFLOAT\b/gi, 'DOUBLE'],
  [/\binformation_schema\.columns\b/gi, 'main.sf_columns'],
  [/\bCREATE\s+(OR\s+REPLACE\s+)?TEMPORARY\s+TABLE\b/gi, 'CREATE $1TABLE'],
];

export interface SessionNames {
  user: string;
  role: string;
  warehouse: string | null;
  database: string;
}

/** Splits SQL into unquoted and quoted ('…', "…") segments; quoted ones keep their quotes. */
export function segments(sql: string): Array<{ quoted: boolean; text: string }> {
  const out: Array<{ quoted: boolean; text: string }> = [];
  let i = 0;
  let plain = '';
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      if (plain) out.push({ quoted: false, text: plain });
      plain = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) j += 2;
          else break;
        } else if (ch === "'" && sql[j] === '\\') j += 2;
        else j += 1;
      }
      out.push({ quoted: true, text: sql.slice(i, j + 1) });
      i = j + 1;
    } else {
      plain += ch;
      i += 1;
    }
  }
  if (plain) out.push({ quoted: false, text: plain });
  return out;
}

const literal = (s: string | null) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`);

/** The DuckDB text of one writer statement. */
export function translate(sql: string, names: SessionNames): string {
  return segments(sql)
    .map((seg) => {
      if (seg.quoted) return seg.text;
      let text = seg.text;
      for (const [re, to] of REWRITES) text = text.replace(re, to);
      return text
        .replace(/\bCURRENT_USER\s*\(\s*\)/gi, literal(names.user))
        .replace(/\bCURRENT_ROLE\s*\(\s*\)/gi, literal(names.role))
        .replace(/\bCURRENT_WAREHOUSE\s*\(\s*\)/gi, literal(names.warehouse))
        .replace(/\bCURRENT_DATABASE\s*\(\s*\)/gi, literal(names.database));
    })
    .join('');
}

/** Name of the table a `CREATE TEMPORARY TABLE` creates, as written (for dropping at logout). */
export function temporaryTableName(sql: string): string | null {
  const m =
    /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMPORARY\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?((?:"(?:[^"]|"")+"\.)?"(?:[^"]|"")+")/i.exec(
      sql,
    );
  return m?.[1] ?? null;
}

/** Statement kind from its first keyword, for Snowflake's statementTypeId. */
export function statementTypeId(sql: string): number {
  const word = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
  switch (word) {
    case 'SELECT':
    case 'WITH':
    case 'SHOW':
    case 'COPY':
      return 0x1000;
    case 'INSERT':
      return 0x3100;
    case 'UPDATE':
      return 0x3200;
    case 'DELETE':
      return 0x3300;
    case 'MERGE':
      return 0x3400;
    case 'BEGIN':
    case 'COMMIT':
    case 'ROLLBACK':
      return 0x5000;
    default:
      return 0x6000;
  }
}
