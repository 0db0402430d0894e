/**
 * The column list of one table while it is being loaded: persisted columns first (in their
 * order, with their names), then missing dictionary columns, then missing audit columns, then
 * dynamic columns in order of first appearance. Columns are only appended and types only widen:
 * a Row staged earlier must stay aligned and valid (see `TableSchema.columns`), and a persisted
 * name must never move to another field.
 *
 * Alongside each column it keeps what the row loop needs without lookups: the canonicalizer of
 * its type, whether its type is fixed (dictionary) or may widen (dynamic), whether it is string.
 */
import {
  AUDIT_COLUMNS,
  type ColumnSpec,
  type LogicalType,
  type StreamDefinition,
} from '../core/contracts.js';
import { resolveColumnName } from './identifiers.js';
import { canonicalizer, widen, type Canonicalizer } from './types.js';

const AUDIT_TYPES: Record<string, LogicalType> = {
  [AUDIT_COLUMNS.loadedAt]: 'timestamp',
  [AUDIT_COLUMNS.runId]: 'string',
  [AUDIT_COLUMNS.extra]: 'json',
};

export class ColumnSet {
  readonly columns: ColumnSpec[];
  readonly canon: Canonicalizer[] = [];
  /** Dictionary column: its type never changes because of data; misfits go to `_extra`. */
  readonly fixed: boolean[] = [];
  /** Column type is string (a string value is taken as it is, minus NUL). */
  readonly textual: boolean[] = [];
  /** Bumped on every append or widening (schema snapshots compare it). */
  version = 0;
  /** True once a column was added or widened compared with the persisted map. */
  changed = false;
  private dynamicCount = 0;
  private readonly taken = new Set<string>();
  /** Source field → column index. Audit columns are not reachable from data fields. */
  private readonly bySource = new Map<string, number>();

  constructor(
    persisted: ColumnSpec[],
    stream: StreamDefinition,
    private readonly maxIdentifierLength: number,
  ) {
    this.columns = [];
    for (const c of persisted) this.push({ ...c });
    this.changed = false;
    for (const d of stream.columns) {
      const i = this.bySource.get(d.name);
      if (i === undefined) {
        this.push({ name: this.newName(d.name), source: d.name, type: d.type, origin: 'dictionary' });
      } else {
        this.fixed[i] = true;
        const col = this.columns[i] as ColumnSpec;
        const type = widen(col.type, d.type);
        if (type !== col.type) this.widenTo(i, type);
      }
    }
    for (const [name, type] of Object.entries(AUDIT_TYPES)) {
      if (this.auditIndex(name) < 0) this.push({ name, source: name, type, origin: 'audit' });
    }
  }

  get length(): number {
    return this.columns.length;
  }

  get dynamicColumns(): number {
    return this.dynamicCount;
  }

  /** Column of a source field, or undefined when the field is new to the table. */
  indexOf(field: string): number | undefined {
    return this.bySource.get(field);
  }

  auditIndex(name: string): number {
    return this.columns.findIndex((c) => c.origin === 'audit' && c.name === name);
  }

  /** Appends a dynamic column for a new field; returns its index. */
  addDynamic(field: string, type: LogicalType): number {
    return this.push({ name: this.newName(field), source: field, type, origin: 'dynamic' });
  }

  widenTo(index: number, type: LogicalType): void {
    (this.columns[index] as ColumnSpec).type = type;
    this.canon[index] = canonicalizer(type);
    this.textual[index] = type === 'string';
    this.changed = true;
    this.version++;
  }

  private newName(raw: string): string {
    return resolveColumnName(raw, this.taken, this.maxIdentifierLength);
  }

  private push(col: ColumnSpec): number {
    const i = this.columns.length;
    this.columns.push(col);
    this.canon.push(canonicalizer(col.type));
    this.fixed.push(col.origin === 'dictionary');
    this.textual.push(col.type === 'string');
    this.taken.add(col.name.toLowerCase());
    if (col.origin === 'dynamic') this.dynamicCount++;
    if (col.origin !== 'audit' && !this.bySource.has(col.source)) this.bySource.set(col.source, i);
    this.changed = true;
    this.version++;
    return i;
  }
}
