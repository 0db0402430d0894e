/**
 * Source records → warehouse rows. The mapper owns the table's column list while a window is
 * loaded: it starts from the persisted column map, adds what the dictionary and the data bring
 * (only ever appended), widens dynamic column types, and puts every value it cannot type into
 * `_extra`. Its guarantees, which the destinations rely on without checking:
 *   - every non-null cell is canonical text for its column's type (see `Row`);
 *   - a field keeps the warehouse name it was first given (persisted `source` wins);
 *   - no value is dropped: misfits, fields past the column budget, duplicate header fields,
 *     surplus values and unreadable records all end up in `_extra`;
 *   - rows that could not be loaded idempotently never leave here: a merge key that is NULL or
 *     '' (all such rows would collapse into one), or (replace_window) a NULL cursor, throws
 *     DataError naming stream, line and field, and so
 *     does a reject in such a stream. Loading them would double them on every re-run, since no
 *     upsert or window delete can ever match them again. Rejects of other streams become rows
 *     with every data column NULL and `_extra = {"_rejected": {position, error, raw}}`.
 * If `map` throws, the schema may already have grown: the caller aborts the load.
 */
import {
  AUDIT_COLUMNS,
  type ColumnSpec,
  type RecordBatch,
  type Row,
  type TableSchema,
} from '../core/contracts.js';
import type { DestinationCapabilities, LogicalType, Logger, StreamDefinition } from '../core/contracts.js';
import { ConfigError, DataError } from '../core/errors.js';
import { resolveColumnName } from './identifiers.js';
import { jsonText } from './text.js';
import { canonicalize, canonicalizer, inferType, widen, type Canonicalizer } from './types.js';

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

const AUDIT_TYPES: Record<string, LogicalType> = {
  [AUDIT_COLUMNS.loadedAt]: 'timestamp',
  [AUDIT_COLUMNS.runId]: 'string',
  [AUDIT_COLUMNS.extra]: 'json',
};

export class RowMapper {
  private readonly stream: StreamDefinition;
  private readonly log: Logger;
  private readonly maxIdentifierLength: number;
  private readonly maxColumns: number;
  private readonly columnBudget: number;
  private readonly columns: ColumnSpec[];
  private readonly canon: Canonicalizer[] = [];
  private readonly fixed: boolean[] = [];
  private readonly taken = new Set<string>();
  private readonly fieldSlots = new Map<string, number>();
  private readonly plans = new WeakMap<string[], Plan>();
  private readonly warned = new Set<string>();
  private readonly extraIndex: number;
  private readonly keyIndexes: number[];
  /** Columns that must be non-null for the row to be loadable (merge key, replace_window cursor). */
  private readonly required: Array<{ index: number; field: string }>;
  private readonly primaryKey: string[];
  private readonly cursorColumn: string;
  private template: Row = [];
  private dynamicCount = 0;
  private changed = false;
  private snapshot: TableSchema | null = null;

  constructor(private readonly options: MapperOptions) {
    const { stream, capabilities } = options;
    this.stream = stream;
    this.log = options.log.child({ stream: stream.name, table: options.table });
    this.maxIdentifierLength = capabilities.maxIdentifierLength;
    this.maxColumns = capabilities.maxColumns;
    this.columnBudget = options.columnBudget;
    this.columns = options.persisted.map((c) => ({ ...c }));
    this.columns.forEach((c, i) => {
      this.taken.add(c.name.toLowerCase());
      this.canon.push(canonicalizer(c.type));
      this.fixed.push(c.origin === 'dictionary');
      if (c.origin === 'dynamic') this.dynamicCount++;
      if (c.origin !== 'audit' && !this.fieldSlots.has(c.source)) this.fieldSlots.set(c.source, i);
    });
    for (const d of stream.columns) {
      const i = this.fieldSlots.get(d.name);
      if (i === undefined) {
        this.append({ name: this.newName(d.name), source: d.name, type: d.type, origin: 'dictionary' });
        this.fieldSlots.set(d.name, this.columns.length - 1);
      } else {
        this.fixed[i] = true;
        const col = this.columns[i] as ColumnSpec;
        if (col.type !== d.type) this.setType(i, widen(col.type, d.type));
      }
    }
    for (const [name, type] of Object.entries(AUDIT_TYPES)) {
      if (!this.columns.some((c) => c.origin === 'audit' && c.name === name)) {
        this.append({ name, source: name, type, origin: 'audit' });
      }
    }
    this.extraIndex = this.columns.findIndex((c) => c.origin === 'audit' && c.name === AUDIT_COLUMNS.extra);
    this.primaryKey = stream.primaryKey.map((f) => this.dictionaryColumn(f, 'primary key'));
    this.keyIndexes = stream.primaryKey.map((f) => this.fieldSlots.get(f) as number);
    this.cursorColumn = this.dictionaryColumn(stream.cursorField, 'cursor');
    const cursorType = this.columns[this.fieldSlots.get(stream.cursorField) as number]?.type;
    if (cursorType !== 'timestamp' && cursorType !== 'date') {
      throw new ConfigError(
        `stream ${stream.name}: cursor field ${stream.cursorField} must be a timestamp or date column`,
      );
    }
    this.required = stream.primaryKey.map((field, k) => ({ index: this.keyIndexes[k] as number, field }));
    if (stream.writeMode === 'replace_window') {
      this.required.push({
        index: this.fieldSlots.get(stream.cursorField) as number,
        field: stream.cursorField,
      });
    }
    const loadedAt = canonicalize('timestamp', options.loadedAt);
    if (typeof loadedAt !== 'string')
      throw new RangeError(`loadedAt is not an ISO instant: ${options.loadedAt}`);
    // Every row starts as a copy of this: NULLs plus the two audit values.
    this.template = this.columns.map((c) => {
      if (c.origin !== 'audit') return null;
      return c.name === AUDIT_COLUMNS.loadedAt
        ? loadedAt
        : c.name === AUDIT_COLUMNS.runId
          ? options.runId
          : null;
    });
  }

  /** Current schema: persisted columns, then appended ones; types only widen. */
  get schema(): TableSchema {
    this.snapshot ??= {
      table: this.options.table,
      columns: this.columns.map((c) => ({ ...c })),
      primaryKey: [...this.primaryKey],
      cursorColumn: this.cursorColumn,
    };
    return this.snapshot;
  }

  /** True once this mapper added or widened a column compared with `persisted`. */
  get schemaChanged(): boolean {
    return this.changed;
  }

  map(batch: RecordBatch): Row[] {
    const plan = this.planFor(batch.fields);
    const { slots, extraKeys } = plan;
    const nf = slots.length;
    const records = batch.records;
    const out: Row[] = new Array<Row>(records.length);
    const canon = this.canon;
    const fixed = this.fixed;
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
        if (fixed[slot]) {
          c = (canon[slot] as Canonicalizer)(v);
          if (c === undefined) {
            (extra ??= {})[extraKeys[j] as string] = v;
            this.warnOnce(
              `misfit:${slot}`,
              { field: plan.fields[j], type: this.columns[slot]?.type },
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
        : `${JSON.stringify(raw).slice(0, 80)} is not a valid ${this.columns[this.fieldSlots.get(field) as number]?.type}`;
    throw new DataError(`${this.stream.name}: line ${line}: ${field} ${what}`, {
      stream: this.stream.name,
      line,
      field,
    });
  }

  /** Value of a dynamic column, widening the column when the value needs a wider type. */
  private dynamicValue(slot: number, v: unknown): string | null {
    const col = this.columns[slot] as ColumnSpec;
    if (col.type !== 'string') {
      const inferred = inferType(v);
      if (inferred === null) return null;
      const wider = widen(col.type, inferred);
      if (wider !== col.type) {
        this.log.info({ column: col.name, from: col.type, to: wider }, 'column widened');
        this.setType(slot, wider);
      }
    }
    return (this.canon[slot] as Canonicalizer)(v) as string | null;
  }

  private resolvePending(plan: Plan, j: number, v: unknown): number {
    const field = plan.fields[j] as string;
    let slot = this.fieldSlots.get(field);
    if (slot === undefined) {
      const type = inferType(v);
      if (type === null) return PENDING;
      if (this.dynamicCount >= this.columnBudget || this.columns.length >= this.maxColumns) {
        this.warnOnce(
          `budget:${field}`,
          { field, budget: this.columnBudget },
          'column budget reached; field kept in _extra',
        );
        slot = EXTRA;
      } else {
        const name = this.newName(field);
        this.append({ name, source: field, type, origin: 'dynamic' });
        this.dynamicCount++;
        slot = this.columns.length - 1;
        this.log.info({ column: name, field, type }, 'column added');
      }
      this.fieldSlots.set(field, slot);
    }
    plan.slots[j] = slot;
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
      slots[j] = this.fieldSlots.get(f) ?? (this.stream.dynamicColumns ? PENDING : EXTRA);
    });
    const plan = { fields, slots, extraKeys };
    this.plans.set(fields, plan);
    return plan;
  }

  private dictionaryColumn(field: string, role: string): string {
    const slot = this.fieldSlots.get(field);
    if (!this.stream.columns.some((d) => d.name === field) || slot === undefined) {
      throw new ConfigError(`stream ${this.stream.name}: ${role} field ${field} is not a dictionary column`);
    }
    return (this.columns[slot] as ColumnSpec).name;
  }

  private newName(raw: string): string {
    return resolveColumnName(raw, this.taken, this.maxIdentifierLength);
  }

  private append(col: ColumnSpec): void {
    this.columns.push(col);
    this.canon.push(canonicalizer(col.type));
    this.fixed.push(col.origin === 'dictionary');
    this.taken.add(col.name.toLowerCase());
    this.template.push(null);
    this.changed = true;
    this.snapshot = null;
  }

  private setType(slot: number, type: LogicalType): void {
    (this.columns[slot] as ColumnSpec).type = type;
    this.canon[slot] = canonicalizer(type);
    this.changed = true;
    this.snapshot = null;
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(fields, msg);
  }
}
