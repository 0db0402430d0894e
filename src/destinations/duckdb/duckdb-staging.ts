/**
 * The staging area of one DuckDB load: rows are written as CSV to files in a private temp
 * directory while the window is read, and loaded into the load's VARCHAR TEMP table by DuckDB's
 * own CSV reader when the window commits.
 *
 * Why files and not the Appender: the Appender costs one N-API call per value (appendVarchar,
 * appendNull, endRow, flushSync were 16 s of a 1M-row, 26-column load), while encoding CSV text in
 * Node and `read_csv` in DuckDB (parallel, native) cost a fraction of that — see BENCHMARKS.md.
 * Memory: nothing is held across `write`s but the file handle; the window's rows live on disk
 * until the commit reads them.
 *
 * Each schema change (columns appended mid-load) starts a new file, so every file has one column
 * list; `load` reads them all in order. Values are canonical text; NULL is an unquoted empty
 * field and '' a quoted one (`allow_quoted_nulls = false`), so they are never confused. The files
 * are removed by `discard`; a process killed mid-window leaves its directory in the temp dir
 * (`exportsync-stage-*`), never anything in the database.
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Row } from '../../core/contracts.js';
import { csvLine } from '../postgres/postgres-copy.js';
import { quoteIdent } from './duckdb-sql.js';

interface Segment {
  path: string;
  /** Staging column names of this file, after the sequence column. */
  columns: string[];
  rows: number;
  /** Longest line written, in UTF-16 code units (≤ bytes / 1, ≥ bytes / 3). */
  longest: number;
}

/** DuckDB's default `max_line_size`; longer lines need it raised (and the buffer with it). */
const DEFAULT_MAX_LINE = 2 * 1024 * 1024;

export class CsvStaging {
  private dir: string | undefined;
  private readonly segments: Segment[] = [];
  private file: FileHandle | undefined;
  private seq = 0;

  /** The directory holding the files (undefined before the first write and after discard). */
  get directory(): string | undefined {
    return this.dir;
  }

  /** Rows written so far. */
  get rows(): number {
    return this.seq;
  }

  /**
   * Appends `rows` (padded with NULLs to `columns.length`) with sequence numbers continuing the
   * previous ones. A `columns` list longer than the current file's starts a new file.
   */
  async write(rows: Row[], columns: string[]): Promise<void> {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.columns.length !== columns.length) {
      await this.closeFile();
      this.dir ??= await mkdtemp(join(tmpdir(), 'exportsync-stage-'));
      seg = {
        path: join(this.dir, `${this.segments.length}.csv`),
        columns: [...columns],
        rows: 0,
        longest: 0,
      };
      this.segments.push(seg);
      this.file = await open(seg.path, 'w');
    }
    const width = columns.length;
    const lines = new Array<string>(rows.length);
    let longest = seg.longest;
    for (let r = 0; r < rows.length; r++) {
      // csvLine builds the line with an array join: measured faster than += per field here
      const line = `${++this.seq},${csvLine(rows[r]!, width)}`;
      if (line.length > longest) longest = line.length;
      lines[r] = line;
    }
    seg.longest = longest;
    seg.rows += rows.length;
    await this.file!.write(lines.join(''));
  }

  /** Loads every file into `table` (a VARCHAR table with `seqColumn` and at least the files' columns). */
  async load(conn: DuckDBConnection, table: string, seqColumn: string): Promise<void> {
    await this.closeFile();
    for (const seg of this.segments) {
      if (seg.rows === 0) continue;
      const names = seg.columns.map((_, i) => `c${i}`);
      const types = [`'s': 'BIGINT'`, ...names.map((n) => `'${n}': 'VARCHAR'`)].join(', ');
      const maxLine = Math.max(DEFAULT_MAX_LINE, seg.longest * 3 + 16);
      const sizes =
        maxLine > DEFAULT_MAX_LINE ? `, max_line_size = ${maxLine}, buffer_size = ${2 * maxLine}` : '';
      await conn.run(
        `INSERT INTO ${table} (${[seqColumn, ...seg.columns].map(quoteIdent).join(', ')}) ` +
          `SELECT s, ${names.join(', ')} FROM read_csv(${sqlString(seg.path)}, columns = {${types}}, ` +
          `header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', new_line = '\\n', ` +
          `nullstr = '', allow_quoted_nulls = false, strict_mode = true${sizes})`,
      );
    }
  }

  /** Closes and removes the files. Safe to call more than once. */
  async discard(): Promise<void> {
    await this.closeFile().catch(() => undefined);
    const dir = this.dir;
    this.dir = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    if (f) await f.close();
  }
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
