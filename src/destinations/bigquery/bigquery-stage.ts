/**
 * The bulk path: rows are appended as newline-delimited JSON to a local file (so a window never
 * sits in memory) and uploaded by load job into the load's staging table, whose columns are all
 * STRING (values stay the Row's canonical text; typing happens in the commit's SQL, where a bad
 * value can be named with its row). A row whose later columns are absent leaves them NULL, which
 * is how rows staged before a column appeared get it. The staging table expires by itself after a
 * day, so a killed process leaves no permanent litter. Load jobs, not streaming inserts: rows in
 * a streaming buffer cannot be touched by DML for up to 90 minutes, and inserts cost per row.
 */
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, TableField } from '@google-cloud/bigquery';
import type { LogicalType, Row } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { newJobId, type BqClient } from './bigquery-client.js';
import { isNotFound, isRetryable } from './bigquery-errors.js';
import { SEQ } from './bigquery-sql.js';
import { digitsOf, type DecimalNeed } from './bigquery-types.js';

const STAGE_TTL_MS = 24 * 3600_000;

export class StageFile {
  private readonly dir = mkdtempSync(join(tmpdir(), 'exportsync-bq-'));
  private stream: WriteStream | undefined;
  private part = 0;
  private path = '';
  /** Rows and bytes in the current (not yet uploaded) file. */
  pendingRows = 0;
  pendingBytes = 0;
  /** Rows staged by this load (uploaded or pending); also the last SEQ given. */
  staged = 0;
  /** Digits the staged values of each decimal-typed column need. */
  readonly decimals = new Map<string, DecimalNeed>();
  /** Staging columns that exist in the staging table (created on the first upload). */
  private tableColumns: string[] | undefined;
  /** A write error of the local file (disk full): the load can only be aborted. */
  private failure: Error | undefined;

  constructor(
    private readonly client: BqClient,
    readonly table: string,
  ) {}

  /** Appends rows (aligned with `columns`); resolves once the file took them (backpressure). */
  async append(rows: Row[], columns: Array<{ name: string; type: LogicalType }>): Promise<void> {
    if (!this.stream) {
      this.path = join(this.dir, `part-${++this.part}.ndjson`);
      this.stream = createWriteStream(this.path);
      this.stream.on('error', (err) => (this.failure ??= err));
    }
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
    this.pendingRows += rows.length;
    this.pendingBytes += Buffer.byteLength(text);
    const stream = this.stream;
    if (this.failure) throw new DestinationError(`staging file ${this.path}: ${this.failure.message}`);
    if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }

  /** Uploads the pending file into the staging table (created or extended first). */
  async upload(columnNames: string[]): Promise<void> {
    const stream = this.stream;
    if (!stream || this.pendingRows === 0) return;
    this.stream = undefined;
    await new Promise<void>((resolve, reject) =>
      stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const fields: TableField[] = [
      { name: SEQ, type: 'INT64', mode: 'REQUIRED' },
      ...columnNames.map((name) => ({ name, type: 'STRING', mode: 'NULLABLE' })),
    ];
    await this.ensureTable(fields);
    const table = this.client.bq.dataset(this.client.dataset).table(this.table);
    const expected = this.pendingRows;
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
        const [created] = await table.createLoadJob(this.path, {
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
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
    rmSync(this.path, { force: true });
    this.pendingRows = 0;
    this.pendingBytes = 0;
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
    this.stream?.destroy();
    this.stream = undefined;
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
