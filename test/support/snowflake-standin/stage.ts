/**
 * Stages on the local disk. PUT is answered with snowflake-sdk's test-only `LOCAL_FS` location, so
 * the real driver copies the file into `<root>/<stage>/` itself; COPY INTO then reads those files
 * with DuckDB's CSV reader, with the CSV dialect the destination asks for (every value quoted,
 * `""` inside, an unquoted empty field is NULL, a quoted empty field is '').
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
}

export function parseCopy(sql: string): CopyCommand | null {
  const m =
    /^\s*COPY\s+INTO\s+((?:"(?:[^"]|"")+"\.)?"(?:[^"]|"")+")\s*\(([^)]*)\)\s*FROM\s+(@(?:"(?:[^"]|"")*"|[^\s"])+)(.*)$/is.exec(
      sql,
    );
  if (!m) return null;
  return {
    table: m[1]!,
    columns: m[2]!.split(',').map((c) => c.trim()),
    stage: m[3]!,
    purge: /\bPURGE\s*=\s*TRUE\b/i.test(m[4] ?? ''),
  };
}

/** One DuckDB INSERT per staged file; the caller runs them, then `purge`s. */
export function copyStatements(copy: CopyCommand, dir: string): Array<{ file: string; sql: string }> {
  const files = readdirSync(dir).sort();
  return files.map((name) => {
    const path = join(dir, name);
    const cols = copy.columns.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
    const reader =
      `read_csv('${path.replace(/'/g, "''")}', header = false, delim = ',', quote = '"', escape = '"', ` +
      `allow_quoted_nulls = false, nullstr = '', strict_mode = true, columns = {${cols}})`;
    return {
      file: name,
      sql: `INSERT INTO ${copy.table} (${copy.columns.join(', ')}) SELECT * FROM ${reader}`,
    };
  });
}

export function purge(dir: string, files: string[]): void {
  for (const f of files) rmSync(join(dir, f), { force: true });
}
