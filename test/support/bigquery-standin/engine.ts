/**
 * Executes what the stand-in's jobs ask for on DuckDB: query jobs (one statement or a script with
 * DECLARE / SET … = @@row_count / BEGIN TRANSACTION … COMMIT TRANSACTION, rolled back as a whole
 * when a statement fails, as BigQuery does), NDJSON and CSV load jobs (csv-load.ts), and the table DDL of tables.insert
 * and tables.patch. A dataset is a DuckDB schema; the project is ignored.
 */
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Catalog, q, type Field } from './catalog.js';
import { normalisedCsv, parseCsvLoad } from './csv-load.js';
import { splitStatements, translate, DUCK_TYPES } from './translate.js';

/** An error BigQuery would report: HTTP status, reason, message. */
export class BqError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface QueryParameter {
  name: string;
  parameterType: { type: string };
  parameterValue?: { value?: string | null };
}

export interface QueryResult {
  fields: Field[];
  rows: Array<Array<string | null>>;
}

export class Engine {
  readonly catalog = new Catalog();
  readonly datasets = new Set<string>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'bq-standin-'));

  private constructor(private readonly db: DuckDBInstance) {}

  static async create(): Promise<Engine> {
    return new Engine(await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' }));
  }

  async connect(): Promise<DuckDBConnection> {
    const c = await this.db.connect();
    await c.run(`SET TimeZone = 'UTC'`);
    return c;
  }

  async run<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.connect();
    try {
      return await fn(c);
    } finally {
      c.closeSync();
    }
  }

  close(): void {
    this.db.closeSync();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async createDataset(id: string): Promise<void> {
    if (this.datasets.has(id)) throw new BqError(409, 'duplicate', `Already Exists: Dataset ${id}`);
    await this.run((c) => c.run(`CREATE SCHEMA ${q(id)}`));
    this.datasets.add(id);
  }

  async createTable(dataset: string, table: string, body: Record<string, unknown>): Promise<void> {
    if (!this.datasets.has(dataset)) throw new BqError(404, 'notFound', `Not found: Dataset ${dataset}`);
    if (this.catalog.tables.has(this.catalog.key(dataset, table)))
      throw new BqError(409, 'duplicate', `Already Exists: Table ${dataset}.${table}`);
    const fields = ((body.schema as { fields?: Field[] } | undefined)?.fields ?? []).map((f) => ({
      ...f,
      type: f.type.toUpperCase(),
    }));
    await this.run((c) =>
      c.run(`CREATE TABLE ${q(dataset)}.${q(table)} (${this.catalog.columnDdl(fields)})`),
    );
    this.catalog.tables.set(this.catalog.key(dataset, table), {
      fields,
      timePartitioning: body.timePartitioning,
      clustering: body.clustering,
      expirationTime: body.expirationTime as string | undefined,
      creationTime: String(Date.now()),
      etag: this.catalog.nextEtag(),
    });
  }

  /** tables.patch of the schema: fields may only be appended (as BigQuery allows). */
  async patchTable(dataset: string, table: string, body: Record<string, unknown>): Promise<void> {
    const meta = this.catalog.tables.get(this.catalog.key(dataset, table));
    if (!meta) throw new BqError(404, 'notFound', `Not found: Table ${dataset}.${table}`);
    const fields = (body.schema as { fields?: Field[] } | undefined)?.fields;
    if (!fields) return;
    for (const [i, f] of meta.fields.entries()) {
      const next = fields[i];
      if (!next || next.name !== f.name || next.type.toUpperCase() !== f.type)
        throw new BqError(
          400,
          'invalid',
          `Provided Schema does not match Table ${dataset}.${table}. Field ${f.name} is missing or changed in new schema`,
        );
    }
    const added = fields.slice(meta.fields.length).map((f) => ({ ...f, type: f.type.toUpperCase() }));
    await this.run(async (c) => {
      for (const f of added)
        await c.run(
          `ALTER TABLE ${q(dataset)}.${q(table)} ADD COLUMN ${this.catalog.columnDdl([{ ...f, mode: 'NULLABLE' }])}`,
        );
    });
    meta.fields = [...meta.fields, ...added];
    meta.etag = this.catalog.nextEtag();
  }

  async dropTable(dataset: string, table: string): Promise<boolean> {
    if (!this.catalog.tables.delete(this.catalog.key(dataset, table))) return false;
    await this.run((c) => c.run(`DROP TABLE IF EXISTS ${q(dataset)}.${q(table)}`));
    return true;
  }

  async countRows(dataset: string, table: string): Promise<number> {
    return this.run(async (c) => {
      const r = await c.runAndReadAll(`SELECT count(*) AS n FROM ${q(dataset)}.${q(table)}`);
      return Number((r.getRowObjectsJson()[0] as { n: string }).n);
    });
  }

  /**
   * Loads NDJSON or CSV (csv-load.ts) into an existing table (WRITE_APPEND); returns the rows
   * written. The job's schema must be the table's, field for field, as BigQuery requires of an
   * append without schema update options.
   */
  async load(config: Record<string, unknown>, data: Buffer): Promise<number> {
    const dest = config.destinationTable as { datasetId: string; tableId: string };
    const meta = this.catalog.tables.get(this.catalog.key(dest.datasetId, dest.tableId));
    if (!meta) throw new BqError(404, 'notFound', `Not found: Table ${dest.datasetId}.${dest.tableId}`);
    const given = (config.schema as { fields?: Field[] } | undefined)?.fields ?? meta.fields;
    const same =
      given.length === meta.fields.length &&
      given.every((f, i) => f.name === meta.fields[i]!.name && f.type.toUpperCase() === meta.fields[i]!.type);
    if (!same)
      throw new BqError(
        400,
        'invalid',
        `Provided Schema does not match Table ${dest.datasetId}.${dest.tableId}: ${given.map((f) => f.name).join(', ')}`,
      );
    const table = `${q(dest.datasetId)}.${q(dest.tableId)}`;
    const duckType = (f: Field) => DUCK_TYPES[f.type] ?? 'VARCHAR';
    if (config.sourceFormat === 'CSV') {
      const records = parseCsvLoad(config, data, meta.fields.length);
      const types = meta.fields.map((f, i) => `'c${i}': '${duckType(f)}'`);
      return this.insertFrom(
        'csv',
        normalisedCsv(records),
        (file) =>
          `INSERT INTO ${table} SELECT * FROM read_csv('${file}', header = false, auto_detect = false, ` +
          `delim = ',', quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, ` +
          `strict_mode = true, columns = {${types.join(', ')}})`,
      );
    }
    if (config.sourceFormat !== 'NEWLINE_DELIMITED_JSON')
      throw new BqError(
        400,
        'invalid',
        `the stand-in loads NEWLINE_DELIMITED_JSON and CSV only, not ${String(config.sourceFormat)}`,
      );
    const columns = meta.fields.map((f) => `${q(f.name).replace(/^"|"$/g, "'")}: '${duckType(f)}'`);
    return this.insertFrom(
      'ndjson',
      data,
      (file) =>
        `INSERT INTO ${table} BY NAME SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${columns.join(', ')}})`,
    );
  }

  /** Writes `data` to a temporary file and runs the INSERT reading it; the rows inserted. */
  private async insertFrom(
    ext: string,
    data: string | Buffer,
    sql: (file: string) => string,
  ): Promise<number> {
    const file = join(this.dir, `load-${Date.now()}-${Math.random().toString(16).slice(2)}.${ext}`);
    writeFileSync(file, data);
    try {
      return await this.run(async (c) => Number((await c.run(sql(file))).rowsChanged));
    } catch (err) {
      throw new BqError(400, 'invalid', `Error while reading data, error message: ${(err as Error).message}`);
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Runs a query or script; the result is the last SELECT's. */
  async query(sql: string, parameters: QueryParameter[]): Promise<QueryResult> {
    const types = new Map(parameters.map((p) => [p.name, p.parameterType.type]));
    const values: Record<string, string | null> = {};
    for (const p of parameters) values[p.name] = p.parameterValue?.value ?? null;
    const vars = new Map<string, string>();
    let result: QueryResult = { fields: [], rows: [] };
    let inTx = false;
    const c = await this.connect();
    try {
      for (const statement of splitStatements(sql)) {
        const declare = /^DECLARE\s+(\w+)\s+\w+\s+DEFAULT\s+(.+)$/i.exec(statement);
        const set = /^SET\s+(\w+)\s*=\s*@@row_count$/i.exec(statement);
        if (declare) vars.set(declare[1]!, declare[2]!);
        else if (set) vars.set(set[1]!, vars.get('@@row_count') ?? '0');
        else if (/^BEGIN TRANSACTION$/i.test(statement)) {
          await c.run('BEGIN TRANSACTION');
          inTx = true;
        } else if (/^COMMIT TRANSACTION$/i.test(statement)) {
          await c.run('COMMIT');
          inTx = false;
        } else {
          const ddl = /^(CREATE OR REPLACE TABLE|ALTER TABLE|DROP TABLE)\s+`(\w+)`\.`(\w+)`/i.exec(statement);
          const duck = translate(
            statement.replace(
              /\s+PARTITION BY .*?(?=\s+(CLUSTER BY|AS SELECT))|\s+CLUSTER BY .*?(?=\s+AS SELECT)/g,
              '',
            ),
            types,
            vars,
          );
          const used = Object.fromEntries(Object.entries(values).filter(([k]) => duck.includes(`$${k} `)));
          const reader = await c.runAndReadAll(duck, used as Record<string, string>);
          vars.set('@@row_count', String(reader.rowsChanged));
          if (/^\s*(SELECT|WITH)\b/i.test(statement)) {
            const names = reader.columnNames();
            const json = reader.getRowsJson() as unknown[][];
            result = {
              fields: names.map((name) => ({ name, type: 'STRING' })),
              rows: json.map((r) =>
                r.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v))),
              ),
            };
          }
          if (ddl) await this.catalog.refresh(c, ddl[2]!, ddl[3]!, statement);
        }
      }
      return result;
    } catch (err) {
      if (inTx) await c.run('ROLLBACK').catch(() => undefined);
      const message = (err as Error).message;
      if (/conflict/i.test(message))
        throw new BqError(
          400,
          'invalidQuery',
          `Transaction is aborted due to concurrent update against table: ${message}`,
        );
      throw new BqError(400, 'invalidQuery', message);
    } finally {
      c.closeSync();
    }
  }
}
