/**
 * The bulk path: rows are appended to local files (so a window never sits in memory) — `write`'s
 * as newline-delimited JSON, `writeCsv`'s encoded lines as CSV (bigquery-csv.ts) — and uploaded
 * by load jobs, one per format, into the load's staging table, whose columns are all
 * STRING (values stay the Row's canonical text; typing happens in the commit's SQL, where a bad
 * value can be named with its row). A row whose later columns are absent leaves them NULL, which
 * is how rows staged before a column appeared get it. Both formats take their
 * `_exportsync_seq` from one counter, in call order: the merge's "latest staged wins" reads it,
 * so the order the two files load in does not matter. The staging table expires by itself after a
 * day, so a killed process leaves no permanent litter. Load jobs, not streaming inserts: rows in
 * a streaming buffer cannot be touched by DML for up to 90 minutes, and inserts cost per row.
 */
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, TableField } from '@google-cloud/bigquery';
import type { CsvRows, LogicalType, Row } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { newJobId, type BqClient } from './bigquery-client.js';
import { CSV_LOAD_OPTIONS, stagingLines, type DecimalField } from './bigquery-csv.js';
import { isNotFound, isRetryable } from './bigquery-errors.js';
import { SEQ } from './bigquery-sql.js';
import { digitsOf, type DecimalNeed } from './bigquery-types.js';

const STAGE_TTL_MS = 24 * 3600_000;

/** A local file of staged rows not yet loaded, in one format. */
interface Part {
  path: string;
  stream: WriteStream;
  rows: number;
  bytes: number;
}

type Format = 'NEWLINE_DELIMITED_JSON' | 'CSV';

export class StageFile {
  private readonly dir = mkdtempSync(join(tmpdir(), 'exportsync-bq-'));
  /** The pending file of each format: `write`'s rows as NDJSON, `writeCsv`'s as CSV. */
  private readonly parts = new Map<Format, Part>();
  private files = 0;
  /** Rows staged by this load (uploaded or pending); also the last SEQ given. */
  staged = 0;
  /** Digits the staged values of each decimal-typed column need. */
  readonly decimals = new Map<string, DecimalNeed>();
  /** Staging columns that exist in the staging table (created on the first upload). */
  private tableColumns: string[] | undefined;
  /** A write error of a local file (disk full): the load can only be aborted. */
  private failure: Error | undefined;

  constructor(
    private readonly client: BqClient,
    readonly table: string,
  ) {}

  /** Rows in the pending (not yet uploaded) files. */
  get pendingRows(): number {
    let n = 0;
    for (const part of this.parts.values()) n += part.rows;
    return n;
  }

  /** Bytes in the pending files. */
  get pendingBytes(): number {
    let n = 0;
    for (const part of this.parts.values()) n += part.bytes;
    return n;
  }

  /** Appends rows (aligned with `columns`); resolves once the file took them (backpressure). */
  async append(rows: Row[], columns: Array<{ name: string; type: LogicalType }>): Promise<void> {
    const lines: string[] = [];
    for (const row of rows) {
      const obj: Record<string, string | number> = { [SEQ]: ++this.staged };
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        const c = columns[i];
        if (v === null || v === undefined || !c) continue;
        obj[c.name] = v;
        if (c.type === 'decimal') {
          const need = digitsOf(v);
          const have = this.decimals.get(c.name) ?? { intDigits: 0, scale: 0 };
          this.decimals.set(c.name, {
            intDigits: Math.max(have.intDigits, need.intDigits),
            scale: Math.max(have.scale, need.scale),
          });
        }
      }
      lines.push(JSON.stringify(obj));
    }
    const text = lines.join('\n') + '\n';
    await this.writePart('NEWLINE_DELIMITED_JSON', text, rows.length);
  }

  /**
   * Appends encoded rows (their lines aligned with `columns`) to the CSV file, numbered after
   * every row staged so far. A malformed text throws (naming `label`) before anything is staged.
   */
  async appendCsv(
    rows: CsvRows,
    columns: Array<{ name: string; type: LogicalType }>,
    label: string,
  ): Promise<void> {
    const decimals: DecimalField[] = [];
    columns.forEach((c, index) => {
      if (c.type === 'decimal')
        decimals.push({ index, need: { ...(this.decimals.get(c.name) ?? { intDigits: 0, scale: 0 }) } });
    });
    const lines = stagingLines(rows, this.staged + 1, decimals, label);
    for (const d of decimals) this.decimals.set(columns[d.index]!.name, d.need);
    this.staged += rows.rows;
    await this.writePart('CSV', lines, rows.rows);
  }

  private async writePart(format: Format, data: string | Uint8Array, rows: number): Promise<void> {
    let part = this.parts.get(format);
    if (!part) {
      const path = join(this.dir, `part-${++this.files}.${format === 'CSV' ? 'csv' : 'ndjson'}`);
      const stream = createWriteStream(path);
      stream.on('error', (err) => (this.failure ??= err));
      part = { path, stream, rows: 0, bytes: 0 };
      this.parts.set(format, part);
    }
    part.rows += rows;
    part.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const stream = part.stream;
    if (this.failure) throw new DestinationError(`staging file ${part.path}: ${this.failure.message}`);
    if (!stream.write(data)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }

  /**
   * Uploads the pending files into the staging table (created or extended first), one load job
   * per format, both at once. Their order does not matter: the sequence numbers carry it.
   */
  async upload(columnNames: string[]): Promise<void> {
    const parts = [...this.parts.entries()].filter(([, part]) => part.rows > 0);
    if (parts.length === 0) return;
    this.parts.clear();
    for (const [, part] of parts) {
      const stream = part.stream;
      await new Promise<void>((resolve, reject) =>
        stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    }
    const fields: TableField[] = [
      { name: SEQ, type: 'INT64', mode: 'REQUIRED' },
      ...columnNames.map((name) => ({ name, type: 'STRING', mode: 'NULLABLE' })),
    ];
    await this.ensureTable(fields);
    const results = await Promise.allSettled(parts.map(([format, part]) => this.load(format, part, fields)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** One load job of one file; resumed by job id when the SDK or we retry. */
  private async load(format: Format, part: Part, fields: TableField[]): Promise<void> {
    const table = this.client.bq.dataset(this.client.dataset).table(this.table);
    const expected = part.rows;
    const options = format === 'CSV' ? CSV_LOAD_OPTIONS : { sourceFormat: format };
    let jobId = newJobId('load');
    const job = await this.client.withRetry(
      `loading ${expected} rows into ${this.table}`,
      undefined,
      async () => {
        const existing = this.client.bq.job(
          jobId,
          this.client.location ? { location: this.client.location } : {},
        );
        try {
          const [meta] = await existing.getMetadata();
          const status = meta.status as { state?: string; errorResult?: { reason?: string } } | undefined;
          if (status?.state === 'DONE' && !status.errorResult) return existing;
          if (status?.state !== 'DONE') {
            await existing.promise();
            return existing;
          }
          // failed: never resubmitted under its own id; a transient failure gets a new job now
          if (!isRetryable({ errors: [status.errorResult] })) {
            throw Object.assign(new Error('load job failed'), { errors: [status.errorResult] });
          }
          jobId = newJobId('load');
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        const [created] = await table.createLoadJob(part.path, {
          ...options,
          schema: { fields },
          writeDisposition: 'WRITE_APPEND',
          createDisposition: 'CREATE_NEVER',
          ignoreUnknownValues: false,
          maxBadRecords: 0,
          jobId,
        });
        await created.promise();
        return created;
      },
    );
    const output = Number((job.metadata as Job['metadata'])?.statistics?.load?.outputRows ?? NaN);
    if (output !== expected) {
      throw new DestinationError(
        `load job ${jobId} into ${this.table} wrote ${output} rows, expected ${expected}`,
      );
    }
    rmSync(part.path, { force: true });
  }

  /** Creates the staging table (expiring in a day) or appends the new STRING columns to it. */
  private async ensureTable(fields: TableField[]): Promise<void> {
    const table = this.client.bq.dataset(this.client.dataset).table(this.table);
    const names = fields.map((f) => f.name ?? '');
    if (!this.tableColumns) {
      await this.client.withRetry(`creating staging table ${this.table}`, undefined, () =>
        this.client.bq
          .dataset(this.client.dataset)
          .createTable(this.table, { schema: { fields }, expirationTime: String(Date.now() + STAGE_TTL_MS) }),
      );
    } else if (names.length > this.tableColumns.length) {
      await this.client.withRetry(`adding staging columns to ${this.table}`, undefined, () =>
        table.setMetadata({ schema: { fields } }),
      );
    }
    this.tableColumns = names;
  }

  get created(): boolean {
    return this.tableColumns !== undefined;
  }

  /** Removes the local files and the staging table (best effort: it expires anyway). */
  async discard(): Promise<void> {
    for (const part of this.parts.values()) part.stream.destroy();
    this.parts.clear();
    rmSync(this.dir, { recursive: true, force: true });
    if (!this.tableColumns) return;
    this.tableColumns = undefined;
    try {
      await this.client.bq.dataset(this.client.dataset).table(this.table).delete({ ignoreNotFound: true });
    } catch (err) {
      if (!isNotFound(err) && !isRetryable(err)) throw err;
    }
  }
}
