/**
 * The bulk path into a load's temporary staging table (all VARCHAR, plus `_exportsync_seq`, the
 * staging order the merge dedupe breaks ties on). Small loads go by one INSERT with array binds;
 * once a load holds more than SMALL_VALUES values, rows stream into a gzip CSV file on local disk
 * (memory stays bounded), which is PUT to the staging table's stage and loaded with COPY INTO
 * (PURGE, so the stage is emptied). Each file is flushed before the staging table gains columns,
 * so a COPY's column list always matches its file.
 *
 * The CSV dialect: every non-NULL value is enclosed in double quotes (inner quotes doubled), NULL
 * is an empty unenclosed field, NULL_IF=() and ESCAPE_UNENCLOSED_FIELD=NONE. So '' stays '',
 * 'NULL' and '\N' stay text, and backslashes, commas and newlines pass unchanged. If the dialect
 * and the file disagreed, values would shift or turn NULL without any error.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import type { Row } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import type { Bind, SnowflakeSession } from './snowflake-session.js';
import { columnList, qualified, quoteIdent, tableStage } from './snowflake-sql.js';

export const SEQ = '_exportsync_seq';
/** Values (rows × columns) a load keeps in memory for the array-bind path. */
export const SMALL_VALUES = 20_000;
/** Uncompressed CSV bytes per staged file before it is PUT and copied. */
const FILE_BYTES = 256 * 1024 * 1024;

export const CSV_FORMAT =
  `FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '"' ` +
  `ESCAPE_UNENCLOSED_FIELD = NONE NULL_IF = () EMPTY_FIELD_AS_NULL = TRUE COMPRESSION = GZIP)`;

function csvLine(values: Array<string | null>): string {
  return `${values.map((v) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`)).join(',')}\n`;
}

interface OpenFile {
  path: string;
  gzip: Gzip;
  out: WriteStream;
  bytes: number;
  rows: number;
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

  /** Moves everything written so far into the staging table. */
  async flush(): Promise<void> {
    if (this.file) await this.copyFile(this.file);
    else if (this.buffer.length > 0) await this.insertBuffer();
  }

  /** Removes local files (the stage goes with the temporary table). */
  cleanup(): void {
    this.file?.gzip.destroy();
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
    this.file = { path, gzip, out, bytes: 0, rows: 0 };
    const rows = this.buffer;
    this.buffer = [];
    for (const values of rows) await this.writeLine(values as Array<string | null>);
  }

  private async writeLine(values: Array<string | null>): Promise<void> {
    const file = this.file!;
    const line = csvLine(values);
    file.bytes += line.length;
    file.rows += 1;
    if (!file.gzip.write(line)) await once(file.gzip, 'drain');
  }

  private async copyFile(file: OpenFile): Promise<void> {
    this.file = undefined;
    file.gzip.end();
    await finished(file.out);
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
