/**
 * The bulk path into a load's temporary staging table (all VARCHAR, plus `_exportsync_seq`, the
 * staging order the merge dedupe breaks ties on). Small loads of rows go by one INSERT with array
 * binds; once a load holds more than SMALL_VALUES values, or gets encoded lines (`addCsv`, the CSV
 * pass-through, always by file), rows stream into a gzip CSV file on local disk (memory stays
 * bounded), which is PUT to the staging table's stage and loaded with COPY INTO (PURGE, so the
 * stage is emptied). Each file is flushed before the staging table gains columns,
 * so a COPY's column list always matches its file.
 *
 * The CSV dialect: a non-NULL value may be enclosed in double quotes (inner quotes doubled; `add`
 * encloses every one, `addCsv`'s encoded lines only those that need it), NULL is an empty
 * unenclosed field, NULL_IF=(), ESCAPE_UNENCLOSED_FIELD=NONE and TRIM_SPACE=FALSE. So '' stays
 * '', 'NULL' and '\N' stay text, and backslashes, commas, newlines and surrounding spaces pass
 * unchanged. If the dialect and the file disagreed, values would shift or turn NULL without any
 * error. Encoded lines and `add`'s rows share one file and one sequence, in call order.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import type { CsvRows, Row } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import type { Bind, SnowflakeSession } from './snowflake-session.js';
import { columnList, qualified, quoteIdent, tableStage } from './snowflake-sql.js';
import { sequencedLines } from './snowflake-stage-csv.js';

export const SEQ = '_exportsync_seq';
/** Values (rows × columns) a load keeps in memory for the array-bind path. */
export const SMALL_VALUES = 20_000;
/** Uncompressed CSV bytes per staged file before it is PUT and copied. */
const FILE_BYTES = 256 * 1024 * 1024;

export const CSV_FORMAT =
  `FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ` +
  `ESCAPE_UNENCLOSED_FIELD = NONE NULL_IF = () EMPTY_FIELD_AS_NULL = TRUE TRIM_SPACE = FALSE ` +
  `ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE ENCODING = 'UTF8' COMPRESSION = GZIP)`;

function csvLine(values: Array<string | null>): string {
  return `${values.map((v) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`)).join(',')}\n`;
}

interface OpenFile {
  path: string;
  gzip: Gzip;
  out: WriteStream;
  bytes: number;
  rows: number;
  /** A write error of the file (disk full, removed): the load can only be aborted. */
  error?: Error;
}

export class StagingWriter {
  private buffer: Bind[][] = [];
  private file: OpenFile | undefined;
  private columns: string[] = [];
  private dir: string | undefined;
  private files = 0;
  /** Rows handed to the writer (the next staging sequence number). */
  seq = 0;

  constructor(
    private readonly run: (sql: string, binds?: Bind[] | Bind[][]) => ReturnType<SnowflakeSession['run']>,
    private readonly schemaName: string,
    private readonly staging: string,
  ) {}

  /** Columns rows are staged under from now on (only ever appended; the caller flushes first). */
  setColumns(names: string[]): void {
    this.columns = [...names];
  }

  async add(rows: Row[]): Promise<void> {
    const width = this.columns.length;
    for (const row of rows) {
      const values: Bind[] = Array.from({ length: width }, (_, i) => row[i] ?? null);
      values.push(String(this.seq++));
      if (this.file) await this.writeLine(values as Array<string | null>);
      else this.buffer.push(values);
    }
    if (!this.file && this.buffer.length * (width + 1) > SMALL_VALUES) await this.spill();
    if (this.file && this.file.bytes > FILE_BYTES) await this.flush();
  }

  /**
   * Encoded rows (aligned with the current columns) straight into the CSV file, after the rows
   * buffered so far (spilled to the file first), so the file keeps the call order and the
   * sequence numbers follow it. A malformed text throws (naming `label`) before anything is staged.
   */
  async addCsv(rows: CsvRows, label: string): Promise<void> {
    const lines = sequencedLines(rows, this.seq, label);
    if (!this.file) await this.spill();
    this.seq += rows.rows;
    await this.append(lines, rows.rows);
    if (this.file!.bytes > FILE_BYTES) await this.flush();
  }

  /** Moves everything written so far into the staging table. */
  async flush(): Promise<void> {
    if (this.file) await this.copyFile(this.file);
    else if (this.buffer.length > 0) await this.insertBuffer();
  }

  /** Removes local files (the stage goes with the temporary table). */
  cleanup(): void {
    // both streams: the file may still be opening, and its open fails once the directory is gone
    this.file?.gzip.destroy();
    this.file?.out.destroy();
    this.file = undefined;
    this.buffer = [];
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private target(): string {
    return `${qualified(this.schemaName, this.staging)} (${columnList(this.columns.map((name) => ({ name })))}, ${quoteIdent(SEQ)})`;
  }

  private async insertBuffer(): Promise<void> {
    const marks = Array.from({ length: this.columns.length + 1 }, () => '?').join(', ');
    const rows = this.buffer;
    this.buffer = [];
    const res = await this.run(`INSERT INTO ${this.target()} VALUES (${marks})`, rows);
    if (res.updated !== rows.length) {
      throw new DestinationError(`staging insert wrote ${res.updated} of ${rows.length} rows`, {
        retryable: true,
      });
    }
  }

  private async spill(): Promise<void> {
    this.dir ??= mkdtempSync(join(tmpdir(), 'exportsync-sf-'));
    const path = join(this.dir, `batch-${++this.files}-${process.pid}.csv.gz`);
    const gzip = createGzip();
    const out = createWriteStream(path);
    gzip.pipe(out);
    const file: OpenFile = { path, gzip, out, bytes: 0, rows: 0 };
    // an error event without a listener would end the process, not the window
    gzip.on('error', (err) => (file.error ??= err));
    out.on('error', (err) => (file.error ??= err));
    this.file = file;
    const rows = this.buffer;
    this.buffer = [];
    for (const values of rows) await this.writeLine(values as Array<string | null>);
  }

  private async writeLine(values: Array<string | null>): Promise<void> {
    await this.append(csvLine(values), 1);
  }

  /** Appends whole lines to the open file; resolves once it took them (backpressure). */
  private async append(data: string | Uint8Array, rows: number): Promise<void> {
    const file = this.file!;
    if (file.error) throw new DestinationError(`staging file ${file.path}: ${file.error.message}`);
    file.bytes += data.length;
    file.rows += rows;
    if (!file.gzip.write(data)) await once(file.gzip, 'drain');
  }

  private async copyFile(file: OpenFile): Promise<void> {
    this.file = undefined;
    file.gzip.end();
    await Promise.all([finished(file.gzip), finished(file.out)]);
    if (file.error) throw new DestinationError(`staging file ${file.path}: ${file.error.message}`);
    const stage = tableStage(this.schemaName, this.staging);
    await this.run(
      `PUT 'file://${file.path}' ${stage} AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP OVERWRITE = TRUE PARALLEL = 4`,
    );
    const res = await this.run(
      `COPY INTO ${this.target()} FROM ${stage} ${CSV_FORMAT} PURGE = TRUE ON_ERROR = ABORT_STATEMENT`,
    );
    rmSync(file.path, { force: true });
    const loaded = res.rows.reduce((n, r) => n + Number(r[3] ?? 0), 0);
    if (loaded !== file.rows) {
      throw new DestinationError(`COPY INTO staging loaded ${loaded} of ${file.rows} rows`, {
        retryable: true,
      });
    }
  }
}
