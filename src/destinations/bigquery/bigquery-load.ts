/**
 * One window of one stream. `write` appends rows to a local NDJSON file, `writeCsv` encoded lines
 * to a local CSV file; `commit` uploads them by load jobs into a STRING staging table, checks the staged rows (bigquery-check.ts), brings the
 * target to the schema (bigquery-schema.ts: DDL cannot run inside a BigQuery transaction), and
 * then runs ONE multi-statement script: BEGIN TRANSACTION; the window's MERGE / DELETE+INSERT /
 * snapshot marks / history; the column map; the state row; the ledger row; COMMIT TRANSACTION.
 * A failure anywhere in the script rolls all of it back, so rows and state land together or not
 * at all. If state were written outside this script a crash would lose or double rows.
 */
import { randomBytes } from 'node:crypto';
import type {
  CommitRequest,
  CommitResult,
  CsvRows,
  Load,
  LoadRequest,
  Logger,
  LogicalType,
  Row,
  TableSchema,
} from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { historyKey, historyTableName } from '../history.js';
import { assertAppendOnly, assertCsvRowsFit, assertRowsFit, validateSchema } from '../load-checks.js';
import { stringParam, type BqClient, type Params } from './bigquery-client.js';
import { checkStaged } from './bigquery-check.js';
import { windowStatements } from './bigquery-ledger.js';
import type { acquireLease } from './bigquery-lock.js';
import { applyPlan, needsChange, planTable, readMetadata } from './bigquery-schema.js';
import {
  columnList,
  DELETED_AT,
  dedupedSql,
  MAX_IDENTIFIER_LENGTH,
  mergeSql,
  quoteIdent,
  SEQ,
  tableRef,
  windowParams,
  windowPredicate,
  withAuditFill,
} from './bigquery-sql.js';
import { columnMapStatements, stateStatements } from './bigquery-state.js';
import { StageFile } from './bigquery-stage.js';
import { castStaged, type BqType } from './bigquery-types.js';

export type LeaseFn = (key: string, label: string) => ReturnType<typeof acquireLease>;

export class BigQueryLoad implements Load {
  private readonly stage: StageFile;
  private columns: Array<{ name: string; type: LogicalType }> = [];
  private readonly stagedTypes = new Map<string, Set<LogicalType>>();
  private done = false;

  constructor(
    private readonly client: BqClient,
    private readonly request: LoadRequest,
    private readonly log: Logger,
    private readonly lease: LeaseFn,
    private readonly onFinish: (load: BigQueryLoad) => void,
    private readonly stageFileBytes: number,
  ) {
    this.stage = new StageFile(client, `_exportsync_stage_${randomBytes(6).toString('hex')}`);
    this.followSchema(request.schema);
  }

  async write(rows: Row[], schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertRowsFit(this.request.streamKey, rows, schema);
    this.followSchema(schema);
    if (rows.length === 0) return;
    this.noteTypes(schema);
    await this.stage.append(rows, schema.columns);
    await this.uploadWhenFull();
  }

  /**
   * The CSV pass-through: the lines go to a CSV file loaded by its own load job (bigquery-stage.ts),
   * each numbered in the same sequence as `write`'s rows, so the two stay in call order — the
   * order "latest staged wins" goes by — whichever job loads first.
   */
  async writeCsv(rows: CsvRows, schema: TableSchema): Promise<void> {
    this.assertUsable();
    assertCsvRowsFit(this.request.streamKey, rows, schema);
    this.followSchema(schema);
    if (rows.rows === 0) return;
    await this.stage.appendCsv(rows, schema.columns, this.request.streamKey);
    this.noteTypes(schema);
    await this.uploadWhenFull();
  }

  /** Remembers the type each column's rows are staged under (the commit casts from each). */
  private noteTypes(schema: TableSchema): void {
    for (const c of schema.columns) {
      let types = this.stagedTypes.get(c.name);
      if (!types) this.stagedTypes.set(c.name, (types = new Set()));
      types.add(c.type);
    }
  }

  private async uploadWhenFull(): Promise<void> {
    if (this.stage.pendingBytes >= this.stageFileBytes)
      await this.stage.upload(this.columns.map((c) => c.name));
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    this.assertUsable();
    const { schema } = request;
    validateSchema(schema, request.mode);
    if (request.history && request.mode !== 'snapshot') {
      throw new DestinationError(
        `${this.request.streamKey}: history is only kept for snapshot streams, not ${request.mode}`,
      );
    }
    this.followSchema(schema);
    const names = this.columns.map((c) => c.name);
    await this.stage.upload(names);
    const staged = this.stage.staged;
    const stagedColumns = new Set(this.stage.created ? names : []);
    const meta = await readMetadata(this.client, schema.table);
    const plan = planTable(meta, schema, this.stage.decimals, { deletedAt: request.mode === 'snapshot' });
    const history = request.history
      ? {
          ...schema,
          table: historyTableName(schema.table, MAX_IDENTIFIER_LENGTH),
          primaryKey: historyKey(schema),
        }
      : undefined;
    if (staged > 0) {
      await checkStaged({
        client: this.client,
        staging: this.stage.table,
        stagedColumns,
        schema,
        natives: plan.natives,
        stagedTypes: this.stagedTypes,
        window:
          request.mode === 'replace_window' || history
            ? { window: request.window, why: history ? 'the snapshot history' : 'replace_window' }
            : undefined,
        streamKey: this.request.streamKey,
      });
    }
    let created = false;
    if (needsChange(plan)) {
      const lease = await this.lease(`table:${schema.table}`, `table ${schema.table}`);
      try {
        const fresh = planTable(await readMetadata(this.client, schema.table), schema, this.stage.decimals, {
          deletedAt: request.mode === 'snapshot',
        });
        created = await applyPlan(this.client, schema, fresh, this.log);
        plan.natives = fresh.natives;
      } finally {
        await lease.release();
      }
    }
    if (history) {
      const hmeta = await readMetadata(this.client, history.table);
      const hplan = planTable(hmeta, history, new Map(), { deletedAt: false, want: plan.natives });
      if (needsChange(hplan)) await applyPlan(this.client, history, hplan, this.log);
    }
    const { sql, params } = this.script(request, plan.natives, { created, staged, stagedColumns, history });
    const [row] = await this.client.query(
      sql,
      params,
      `commit of ${this.request.streamKey} into ${schema.table}`,
    );
    const result = { staged, upserted: Number(row?.upserted ?? 0), deleted: Number(row?.deleted ?? 0) };
    this.log.debug({ table: schema.table, mode: request.mode, ...result }, 'window committed');
    await this.finish();
    return result;
  }

  async abort(): Promise<void> {
    await this.finish();
  }

  /** The commit script: every change of the window in one transaction, counts as its result. */
  private script(
    request: CommitRequest,
    natives: Map<string, BqType>,
    ctx: { created: boolean; staged: number; stagedColumns: Set<string>; history?: TableSchema },
  ): { sql: string; params: Params } {
    const { schema } = request;
    const dataset = this.client.dataset;
    const target = tableRef(dataset, schema.table);
    const names = schema.columns.map((c) => c.name);
    const params: Params = { run_id: stringParam(this.request.runId) };
    const cursorNative = natives.get(schema.cursorColumn) === 'DATE' ? 'DATE' : 'TIMESTAMP';
    const useWindow = () => {
      const b = windowParams(request.window, cursorNative === 'DATE' ? 'date' : 'timestamp');
      params.window_from = { type: cursorNative, value: b.from };
      params.window_to = { type: cursorNative, value: b.to };
    };
    const typedExprs = schema.columns.map((c) => {
      const native = natives.get(c.name) ?? 'STRING';
      const ref = `s.${quoteIdent(c.name)}`;
      const value = ctx.stagedColumns.has(c.name)
        ? castStaged(ref, native, this.stagedTypes.get(c.name) ?? new Set([c.type]))
        : `CAST(NULL AS ${native})`;
      return `${withAuditFill(c.name, value, native)} AS ${quoteIdent(c.name)}`;
    });
    const stagingRef = tableRef(dataset, this.stage.table);
    const typed = `SELECT ${typedExprs.join(', ')}, s.${quoteIdent(SEQ)} AS ${quoteIdent(SEQ)} FROM ${stagingRef} AS s`;
    const deduped = () => dedupedSql(typed, names, schema.primaryKey, schema.cursorColumn);
    const jsonColumns = new Set(names.filter((n) => natives.get(n) === 'JSON'));
    const body: string[] = [];
    if (request.mode === 'replace_window' && !ctx.created) {
      useWindow();
      body.push(
        `DELETE FROM ${target} WHERE ${windowPredicate(schema.cursorColumn)}`,
        'SET _es_deleted = @@row_count',
      );
    }
    if (ctx.staged > 0) {
      body.push(
        schema.primaryKey.length === 0
          ? `INSERT INTO ${target} (${columnList(names)}) SELECT ${columnList(names)} FROM (${typed})`
          : mergeSql({
              target,
              source: deduped(),
              columns: schema.columns,
              jsonColumns,
              primaryKey: schema.primaryKey,
              snapshot: request.mode === 'snapshot',
            }),
        'SET _es_upserted = @@row_count',
      );
    }
    if (request.mode === 'snapshot' && !ctx.created) {
      const del = quoteIdent(DELETED_AT);
      const match = schema.primaryKey
        .map(
          (k) =>
            `${castStaged(`s.${quoteIdent(k)}`, natives.get(k) ?? 'STRING', this.stagedTypes.get(k) ?? new Set())} = t.${quoteIdent(k)}`,
        )
        .join(' AND ');
      const absent =
        ctx.staged > 0 ? ` AND NOT EXISTS (SELECT 1 FROM ${stagingRef} AS s WHERE ${match})` : '';
      body.push(
        `UPDATE ${target} AS t SET ${del} = CURRENT_TIMESTAMP() WHERE t.${del} IS NULL${absent}`,
        'SET _es_deleted = @@row_count',
      );
    }
    if (ctx.history) {
      useWindow();
      const h = tableRef(dataset, ctx.history.table);
      body.push(`DELETE FROM ${h} WHERE ${windowPredicate(schema.cursorColumn)}`);
      if (ctx.staged > 0) body.push(`INSERT INTO ${h} (${columnList(names)}) ${deduped()}`);
    }
    const parts = [columnMapStatements(dataset, schema.table, schema.columns)];
    if (request.state) parts.push(stateStatements(dataset, this.request.streamKey, request.state));
    if (request.ledger) parts.push(windowStatements(dataset, { ...request.ledger, status: 'done' }));
    for (const p of parts) {
      body.push(...p.sql);
      Object.assign(params, p.params);
    }
    const statements = [
      'DECLARE _es_upserted INT64 DEFAULT 0',
      'DECLARE _es_deleted INT64 DEFAULT 0',
      'BEGIN TRANSACTION',
      ...body,
      'COMMIT TRANSACTION',
      'SELECT CAST(_es_upserted AS STRING) AS upserted, CAST(_es_deleted AS STRING) AS deleted',
    ];
    if (!body.some((s) => s.includes('@run_id'))) delete params.run_id;
    return { sql: statements.map((s) => `${s};`).join('\n'), params };
  }

  /** Columns may only be appended; types may change (staged text is retyped at commit). */
  private followSchema(schema: TableSchema): void {
    assertAppendOnly(this.request.streamKey, this.columns, schema);
    this.columns = schema.columns.map((c) => ({ name: c.name, type: c.type }));
  }

  private assertUsable(): void {
    if (this.done)
      throw new DestinationError(`load of ${this.request.streamKey} is already committed or aborted`);
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.onFinish(this);
    try {
      await this.stage.discard();
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, table: this.stage.table },
        'staging table not dropped; it expires in a day',
      );
    }
  }
}
