/**
 * Stages on the local disk. PUT is answered with snowflake-sdk's test-only `LOCAL_FS` location, so
 * the real driver copies the file into `<root>/<stage>/` itself; COPY INTO then reads those files
 * with DuckDB's CSV reader, with the FILE_FORMAT the COPY names — only the options modelled here
 * (`csvReader`): values optionally enclosed in '"' with '""' inside, an unenclosed empty field
 * NULL, an enclosed empty one '', no escapes, no trimming, a field count mismatch an error.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** `@"s".%"t"`, `@~/x`, `@"s"."st"/p` → a directory name under the stage root. */
export function stageDirectory(root: string, stageRef: string): string {
  const hash = createHash('sha256').update(stageRef).digest('hex').slice(0, 16);
  const dir = join(root, hash);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface PutCommand {
  file: string;
  stage: string;
  sourceCompression: string;
  autoCompress: boolean;
  overwrite: boolean;
}

export function parsePut(sql: string): PutCommand | null {
  const m = /^\s*PUT\s+'?file:\/\/([^'\s]+)'?\s+(@(?:"(?:[^"]|"")*"|[^\s"])+)(.*)$/is.exec(sql);
  if (!m) return null;
  const opts = m[3] ?? '';
  const opt = (name: string) => new RegExp(`\\b${name}\\s*=\\s*'?(\\w+)'?`, 'i').exec(opts)?.[1];
  return {
    file: m[1]!,
    stage: m[2]!,
    sourceCompression: (opt('SOURCE_COMPRESSION') ?? 'auto_detect').toLowerCase(),
    autoCompress: (opt('AUTO_COMPRESS') ?? 'TRUE').toUpperCase() === 'TRUE',
    overwrite: (opt('OVERWRITE') ?? 'FALSE').toUpperCase() === 'TRUE',
  };
}

/** The query-request data that makes the driver upload through LOCAL_FS. */
export function putResponse(put: PutCommand, location: string): Record<string, unknown> {
  return {
    command: 'UPLOAD',
    src_locations: [put.file],
    stageInfo: { locationType: 'LOCAL_FS', location, path: '', region: null, creds: {} },
    sourceCompression: put.sourceCompression,
    autoCompress: put.autoCompress,
    parallel: 1,
    overwrite: put.overwrite,
    encryptionMaterial: null,
    statementTypeId: 0x7000,
    rowtype: [],
    rowset: [],
  };
}

export interface CopyCommand {
  table: string;
  columns: string[];
  stage: string;
  purge: boolean;
  /** FILE_FORMAT options as written (keys upper case, values unquoted); see `csvReader`. */
  format: Map<string, string>;
  onError: string | undefined;
}

export function parseCopy(sql: string): CopyCommand | null {
  const m =
    /^\s*COPY\s+INTO\s+((?:"(?:[^"]|"")+"\.)?"(?:[^"]|"")+")\s*\(([^)]*)\)\s*FROM\s+(@(?:"(?:[^"]|"")*"|[^\s"])+)(.*)$/is.exec(
      sql,
    );
  if (!m) return null;
  const rest = m[4] ?? '';
  const format = /\bFILE_FORMAT\s*=\s*\(((?:'(?:[^'\\]|''|\\.)*'|\([^)]*\)|[^()'])*)\)/is.exec(rest);
  return {
    table: m[1]!,
    columns: m[2]!.split(',').map((c) => c.trim()),
    stage: m[3]!,
    purge: /\bPURGE\s*=\s*TRUE\b/i.test(rest),
    format: parseOptions(format?.[1] ?? ''),
    onError: /\bON_ERROR\s*=\s*'?(\w+)'?/i.exec(rest)?.[1]?.toUpperCase(),
  };
}

/** `KEY = value` pairs: a value is a 'string' ('' and \\ escapes), a (list) or a word. */
function parseOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  const re = /\s*(\w+)\s*=\s*('(?:[^'\\]|''|\\.)*'|\([^)]*\)|[^\s()']+)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text))) {
    const raw = m[2]!;
    const value = raw.startsWith("'")
      ? raw.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1')
      : raw.replace(/\s+/g, '');
    options.set(m[1]!.toUpperCase(), value);
    end = re.lastIndex;
  }
  if (text.slice(end).trim())
    throw new Error(`stand-in: cannot read FILE_FORMAT option at: ${text.slice(end)}`);
  return options;
}

/**
 * Snowflake's CSV defaults, and the one value of each the stand-in models: anything else is
 * refused rather than read with other semantics (a test must not pass on an option ignored here).
 * ESCAPE_UNENCLOSED_FIELD defaults to a backslash and NULL_IF to ('\\N'), both of which change
 * values, so a COPY relying on the defaults is refused too.
 */
const MODELLED: Record<string, { default: string; allowed: string[] }> = {
  TYPE: { default: 'CSV', allowed: ['CSV'] },
  FIELD_DELIMITER: { default: ',', allowed: [','] },
  RECORD_DELIMITER: { default: '\n', allowed: ['\n', '\\n'] },
  FIELD_OPTIONALLY_ENCLOSED_BY: { default: 'NONE', allowed: ['"'] },
  ESCAPE: { default: 'NONE', allowed: ['NONE'] },
  ESCAPE_UNENCLOSED_FIELD: { default: '\\', allowed: ['NONE'] },
  NULL_IF: { default: "('\\N')", allowed: ['()'] },
  EMPTY_FIELD_AS_NULL: { default: 'TRUE', allowed: ['TRUE'] },
  TRIM_SPACE: { default: 'FALSE', allowed: ['FALSE'] },
  ERROR_ON_COLUMN_COUNT_MISMATCH: { default: 'TRUE', allowed: ['TRUE'] },
  SKIP_HEADER: { default: '0', allowed: ['0'] },
  SKIP_BLANK_LINES: { default: 'FALSE', allowed: ['FALSE'] },
  ENCODING: { default: 'UTF8', allowed: ['UTF8', 'UTF-8'] },
  REPLACE_INVALID_CHARACTERS: { default: 'FALSE', allowed: ['FALSE'] },
  COMPRESSION: { default: 'AUTO', allowed: ['AUTO', 'GZIP', 'NONE'] },
};

/**
 * DuckDB's read_csv arguments for a COPY's file format: ',' between fields, '"' enclosing with
 * '""' inside, an unenclosed empty field NULL and an enclosed one '', nothing else NULL, no
 * trimming, a wrong field count or a stray quote an error.
 */
export function csvReader(copy: CopyCommand): string {
  for (const key of copy.format.keys()) {
    if (!MODELLED[key]) throw new Error(`stand-in: FILE_FORMAT option ${key} is not modelled`);
  }
  for (const [key, rule] of Object.entries(MODELLED)) {
    const value = (copy.format.get(key) ?? rule.default).toUpperCase();
    if (!rule.allowed.includes(value))
      throw new Error(
        `stand-in: FILE_FORMAT ${key} = ${value}${copy.format.has(key) ? '' : ' (the default)'} is not modelled; it takes ${rule.allowed.join(' or ')}`,
      );
  }
  if (copy.onError !== undefined && copy.onError !== 'ABORT_STATEMENT')
    throw new Error(`stand-in: ON_ERROR = ${copy.onError} is not modelled`);
  const compression = (copy.format.get('COMPRESSION') ?? 'AUTO').toLowerCase();
  return (
    `header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `allow_quoted_nulls = false, nullstr = '', strict_mode = true, compression = '${compression}'`
  );
}

/** One DuckDB INSERT per staged file; the caller runs them, then `purge`s. */
export function copyStatements(copy: CopyCommand, dir: string): Array<{ file: string; sql: string }> {
  const files = readdirSync(dir).sort();
  const options = csvReader(copy);
  return files.map((name) => {
    const path = join(dir, name);
    const cols = copy.columns.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
    const reader = `read_csv('${path.replace(/'/g, "''")}', ${options}, columns = {${cols}})`;
    return {
      file: name,
      sql: `INSERT INTO ${copy.table} (${copy.columns.join(', ')}) SELECT * FROM ${reader}`,
    };
  });
}

export function purge(dir: string, files: string[]): void {
  for (const f of files) rmSync(join(dir, f), { force: true });
}
