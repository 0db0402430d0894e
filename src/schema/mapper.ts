/**
 * Source records → warehouse rows. The mapper owns the table's column list while a window is
 * loaded: it starts from the persisted column map, adds what the dictionary and the data bring
 * (only ever appended), widens dynamic column types, and puts every value it cannot type into
 * `_extra`. Its guarantees, which the destinations rely on without checking:
 *   - every non-null cell is canonical text for its column's type (see `Row`);
 *   - a field keeps the warehouse name it was first given (persisted `source` wins);
 *   - no value is dropped: misfits, fields past the column budget, duplicate header fields,
 *     surplus values and unreadable records all end up in `_extra`;
 *   - rows that cannot be loaded idempotently never leave here: a merge key that is NULL or ''
 *     (all such rows would collapse into one), or in a replace_window stream a NULL cursor
 *     (the window delete can never reach it, so every re-run would add it again), throws
 *     DataError naming stream, line and field (`events: line 17: id is empty`); so does a
 *     reject in such a stream. Rejects of other streams become rows with every data column
 *     NULL and `_extra = {"_rejected": {position, error, raw}}`.
 *   - the field → column plan is cached per distinct `fields` array (by identity): readers
 *     should hand every batch of one response the same header array.
 * If `map` throws, the schema may already have grown: the caller aborts the load.
 */
import {
  AUDIT_COLUMNS,
  type ColumnSpec,
  type RecordBatch,
  type Row,
  type TableSchema,
} from '../core/contracts.js';
import type {
  CsvRecordWriter,
  DestinationCapabilities,
  Logger,
  StreamDefinition,
} from '../core/contracts.js';
import { ConfigError, DataError } from '../core/errors.js';
import { ColumnSet } from './columns.js';
import { CsvPassWriter, type PassSource } from './csv-pass.js';
import { jsonText, stripNul } from './text.js';
import { canonicalize, inferType, widen, type Canonicalizer } from './types.js';

export interface MapperOptions {
  /** Normalised warehouse table name. */
  table: string;
  stream: StreamDefinition;
  /** destination.getColumnMap(table); [] for a new table. */
  persisted: ColumnSpec[];
  capabilities: DestinationCapabilities;
  /** Max dynamic columns; further new fields go to `_extra` with one warning per field. */
  columnBudget: number;
  runId: string;
  /** ISO instant written to `_exportsync_loaded_at`. */
  loadedAt: string;
  log: Logger;
}

/** Slot of a field in a plan: a column index, or one of these. */
const EXTRA = -1;
const PENDING = -2;

interface Plan {
  fields: string[];
  slots: Int32Array;
  /** Key of each field in `_extra` (the field name; `name#position` for a repeated header name). */
  extraKeys: string[];
}

export class RowMapper implements PassSource {
  private readonly stream: StreamDefinition;
  private readonly log: Logger;
  private readonly maxColumns: number;
  private readonly columnBudget: number;
  readonly cols: ColumnSet;
  private readonly plans = new WeakMap<string[], Plan>();
  private readonly warned = new Set<string>();
  /** Fields past the column budget: their values go to `_extra`. */
  private readonly overflow = new Map<string, number>();
  private readonly extraIndex: number;
  /** Columns that must be non-empty for the row to be loadable (merge key, replace_window cursor). */
  private readonly required: Array<{ index: number; field: string }>;
  private readonly primaryKey: string[];
  /** Column indexes of the primary key, in key order. */
  private readonly keyIndexes: number[];
  private readonly cursorColumn: string;
  /** Every row starts as a copy of this: NULLs plus the two audit values. */
  readonly template: Row;
  /** Fields resolved from PENDING so far (part of `revision`). */
  private resolved = 0;
  private snapshot: TableSchema | null = null;
  private snapshotVersion = -1;

  constructor(private readonly options: MapperOptions) {
    const { stream, capabilities } = options;
    this.stream = stream;
    this.log = options.log.child({ table: options.table });
    this.maxColumns = capabilities.maxColumns;
    this.columnBudget = options.columnBudget;
    this.cols = new ColumnSet(options.persisted, stream, capabilities.maxIdentifierLength);
    const columns = this.cols.columns;
    this.extraIndex = this.cols.auditIndex(AUDIT_COLUMNS.extra);
    this.primaryKey = stream.primaryKey.map((f) => this.dictionaryColumn(f, 'primary key'));
    this.cursorColumn = this.dictionaryColumn(stream.cursorField, 'cursor');
    const cursorIndex = this.cols.indexOf(stream.cursorField) as number;
    const cursorType = columns[cursorIndex]?.type;
    if (cursorType !== 'timestamp' && cursorType !== 'date') {
      throw new ConfigError(
        `stream ${stream.name}: cursor field ${stream.cursorField} must be a timestamp or date column`,
      );
    }
    this.required = stream.primaryKey.map((field) => ({ index: this.cols.indexOf(field) as number, field }));
    this.keyIndexes = this.required.map((r) => r.index);
    if (stream.writeMode === 'replace_window')
      this.required.push({ index: cursorIndex, field: stream.cursorField });
    const loadedAt = canonicalize('timestamp', options.loadedAt);
    if (typeof loadedAt !== 'string')
      throw new RangeError(`loadedAt is not an ISO instant: ${options.loadedAt}`);
    this.template = columns.map(() => null);
    this.template[this.cols.auditIndex(AUDIT_COLUMNS.loadedAt)] = loadedAt;
    this.template[this.cols.auditIndex(AUDIT_COLUMNS.runId)] = options.runId;
  }

  /** Current schema: persisted columns, then appended ones; types only widen. */
  get schema(): TableSchema {
    if (this.snapshot === null || this.snapshotVersion !== this.cols.version) {
      this.snapshot = {
        table: this.options.table,
        columns: this.cols.columns.map((c) => ({ ...c })),
        primaryKey: [...this.primaryKey],
        cursorColumn: this.cursorColumn,
      };
      this.snapshotVersion = this.cols.version;
    }
    return this.snapshot;
  }

  get keyColumns(): readonly number[] {
    return this.keyIndexes;
  }

  get requiredColumns(): readonly number[] {
    return this.required.map((r) => r.index);
  }

  /** Moves whenever a column is added or widened or a pending field is resolved. */
  revision(): number {
    return this.cols.version * 65536 + this.resolved;
  }

  /**
   * The CSV pass-through writer for records under `fields` (src/schema/csv-pass.ts), or null when
   * a field already goes to `_extra` (its values would send nearly every record down the slow path
   * after the byte scan: reading as records is cheaper then).
   */
  csvWriterFor(fields: string[]): CsvRecordWriter | null {
    const plan = this.planFor(fields);
    if (plan.slots.some((slot) => slot === EXTRA)) return null;
    return new CsvPassWriter(this, plan.slots);
  }

  /** True once this mapper added or widened a column compared with `persisted`. */
  get schemaChanged(): boolean {
    return this.cols.changed;
  }

  map(batch: RecordBatch): Row[] {
    const plan = this.planFor(batch.fields);
    const { slots, extraKeys } = plan;
    const nf = slots.length;
    const records = batch.records;
    const out: Row[] = new Array<Row>(records.length);
    const { canon, fixed, textual } = this.cols;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as unknown[];
      const row = this.template.slice();
      let extra: Record<string, unknown> | null = null;
      const n = rec.length < nf ? rec.length : nf;
      for (let j = 0; j < n; j++) {
        const v = rec[j];
        if (v === null || v === undefined) continue;
        let slot = slots[j] as number;
        if (slot === PENDING) {
          slot = this.resolvePending(plan, j, v);
          if (slot === PENDING) continue;
        }
        if (slot === EXTRA) {
          (extra ??= {})[extraKeys[j] as string] = v;
          continue;
        }
        let c: string | null | undefined;
        if (typeof v === 'string' && textual[slot]) {
          // The common case inline (string column, string value): no call through `canon`.
          c = v.indexOf('\0') < 0 ? v : stripNul(v);
        } else if (fixed[slot]) {
          c = (canon[slot] as Canonicalizer)(v);
          if (c === undefined) {
            (extra ??= {})[extraKeys[j] as string] = v;
            this.warnOnce(
              `misfit:${slot}`,
              { field: plan.fields[j], type: this.cols.columns[slot]?.type },
              'value does not fit the column type; kept in _extra',
            );
            continue;
          }
        } else {
          c = this.dynamicValue(slot, v);
        }
        if (slot >= row.length) while (row.length < slot) row.push(null);
        row[slot] = c;
      }
      if (rec.length > nf) (extra ??= {})._overflow = rec.slice(nf);
      if (extra !== null) row[this.extraIndex] = jsonText(extra);
      for (const r of this.required) {
        const cell = row[r.index];
        if (cell === null || cell === undefined || cell === '') this.missing(batch, i, r.field, extra);
      }
      out[i] = row;
    }
    for (const reject of batch.rejects ?? []) {
      if (this.required.length > 0) {
        throw new DataError(
          `${this.stream.name}: line ${reject.position}: unreadable record (${reject.error}); a ${this.stream.writeMode} stream cannot load a row without ${this.required[0]?.field}`,
          { stream: this.stream.name, line: reject.position, field: this.required[0]?.field },
        );
      }
      const row = this.template.slice();
      row[this.extraIndex] = jsonText({
        _rejected: { position: reject.position, error: reject.error, raw: reject.raw },
      });
      out.push(row);
    }
    return out;
  }

  private missing(
    batch: RecordBatch,
    i: number,
    field: string,
    extra: Record<string, unknown> | null,
  ): never {
    const line = batch.positions?.[i] ?? i + 1;
    const raw = extra?.[field];
    const what =
      raw === undefined
        ? 'is empty'
        : `${JSON.stringify(raw).slice(0, 80)} is not a valid ${this.cols.columns[this.cols.indexOf(field) as number]?.type}`;
    throw new DataError(`${this.stream.name}: line ${line}: ${field} ${what}`, {
      stream: this.stream.name,
      line,
      field,
    });
  }

  /** Value of a dynamic column, widening the column when the value needs a wider type. */
  private dynamicValue(slot: number, v: unknown): string | null {
    const col = this.cols.columns[slot] as ColumnSpec;
    if (col.type !== 'string') {
      const inferred = inferType(v);
      if (inferred === null) return null;
      const wider = widen(col.type, inferred);
      if (wider !== col.type) {
        this.log.info({ column: col.name, from: col.type, to: wider }, 'column widened');
        this.cols.widenTo(slot, wider);
      }
    }
    return (this.cols.canon[slot] as Canonicalizer)(v) as string | null;
  }

  private resolvePending(plan: Plan, j: number, v: unknown): number {
    const field = plan.fields[j] as string;
    let slot = this.cols.indexOf(field) ?? this.overflow.get(field);
    if (slot === undefined) {
      const type = inferType(v);
      if (type === null) return PENDING;
      if (this.cols.dynamicColumns >= this.columnBudget || this.cols.length >= this.maxColumns) {
        this.warnOnce(
          `budget:${field}`,
          { field, budget: this.columnBudget },
          'column budget reached; field kept in _extra',
        );
        slot = EXTRA;
        this.overflow.set(field, EXTRA);
      } else {
        slot = this.cols.addDynamic(field, type);
        this.template.push(null);
        this.log.info({ column: this.cols.columns[slot]?.name, field, type }, 'column added');
      }
    }
    plan.slots[j] = slot;
    this.resolved++;
    return slot;
  }

  private planFor(fields: string[]): Plan {
    const cached = this.plans.get(fields);
    if (cached !== undefined) return cached;
    const slots = new Int32Array(fields.length);
    const extraKeys: string[] = [];
    const seen = new Set<string>();
    fields.forEach((f, j) => {
      if (seen.has(f)) {
        slots[j] = EXTRA;
        extraKeys.push(`${f}#${j + 1}`);
        return;
      }
      seen.add(f);
      extraKeys.push(f);
      slots[j] =
        this.cols.indexOf(f) ?? this.overflow.get(f) ?? (this.stream.dynamicColumns ? PENDING : EXTRA);
    });
    const plan = { fields, slots, extraKeys };
    this.plans.set(fields, plan);
    return plan;
  }

  private dictionaryColumn(field: string, role: string): string {
    const slot = this.cols.indexOf(field);
    if (!this.stream.columns.some((d) => d.name === field) || slot === undefined) {
      throw new ConfigError(`stream ${this.stream.name}: ${role} field ${field} is not a dictionary column`);
    }
    return (this.cols.columns[slot] as ColumnSpec).name;
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(fields, msg);
  }
}
