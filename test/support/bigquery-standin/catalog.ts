/**
 * The stand-in's table metadata: BigQuery field types, partitioning, clustering and expiry per
 * table, kept beside the DuckDB tables that hold the rows (DuckDB types do not map back uniquely:
 * BIGNUMERIC is stored as VARCHAR). Refreshed from DuckDB's catalog after every DDL statement.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DUCK_TYPES } from './translate.js';

export interface Field {
  name: string;
  type: string;
  mode?: string;
}

export interface TableMeta {
  fields: Field[];
  timePartitioning?: unknown;
  clustering?: unknown;
  expirationTime?: string;
  creationTime: string;
  etag: string;
}

export const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

const REVERSE: Record<string, string> = {
  BIGINT: 'INT64',
  DOUBLE: 'FLOAT64',
  'DECIMAL(38,9)': 'NUMERIC',
  BOOLEAN: 'BOOL',
  VARCHAR: 'STRING',
  'TIMESTAMP WITH TIME ZONE': 'TIMESTAMP',
  DATE: 'DATE',
  JSON: 'JSON',
};

export class Catalog {
  readonly tables = new Map<string, TableMeta>();
  private etags = 0;

  key(dataset: string, table: string): string {
    return `${dataset}.${table}`;
  }

  nextEtag(): string {
    return `etag-${++this.etags}`;
  }

  columnDdl(fields: Field[]): string {
    return fields
      .map((f) => {
        const type = DUCK_TYPES[f.type.toUpperCase()];
        if (!type) throw Object.assign(new Error(`unsupported field type ${f.type}`), { reason: 'invalid' });
        return `${q(f.name)} ${type}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`;
      })
      .join(', ');
  }

  /**
   * Re-reads `dataset.table` from DuckDB after `statement` changed it. A column keeps its
   * BigQuery type when DuckDB still stores it the same way, unless the statement typed it anew
   * (SET DATA TYPE X, CAST(… AS X) AS `c`, or a text conversion in a rebuild).
   */
  async refresh(conn: DuckDBConnection, dataset: string, table: string, statement: string): Promise<void> {
    const res = await conn.runAndReadAll(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $1 AND table_name = $2 ORDER BY column_index`,
      [dataset, table],
    );
    const rows = res.getRowObjectsJson() as Array<{ column_name: string; data_type: string }>;
    const key = this.key(dataset, table);
    if (rows.length === 0) {
      this.tables.delete(key);
      return;
    }
    const old = this.tables.get(key);
    const before = new Map((old?.fields ?? []).map((f) => [f.name, f]));
    const hint = new Map<string, string>();
    for (const m of statement.matchAll(/`(\w+)` SET DATA TYPE (\w+)/g)) hint.set(m[1]!, m[2]!);
    for (const m of statement.matchAll(/ AS (\w+)\) AS `(\w+)`/g)) hint.set(m[2]!, m[1]!);
    for (const m of statement.matchAll(/(?:FORMAT_TIMESTAMP|TO_JSON_STRING|IF)\(.*?\) AS `(\w+)`/g))
      hint.set(m[1]!, 'STRING');
    const fields = rows.map((r) => {
      const hinted = hint.get(r.column_name);
      const prev = before.get(r.column_name);
      let type = hinted ?? REVERSE[r.data_type] ?? 'STRING';
      if (!hinted && prev && DUCK_TYPES[prev.type] === duckName(r.data_type)) type = prev.type;
      return { name: r.column_name, type, mode: prev?.mode ?? 'NULLABLE' };
    });
    this.tables.set(key, {
      creationTime: old?.creationTime ?? String(Date.now()),
      ...old,
      fields,
      etag: this.nextEtag(),
    });
  }

  resource(project: string, dataset: string, table: string, numRows: number): object | undefined {
    const meta = this.tables.get(this.key(dataset, table));
    if (!meta) return undefined;
    return {
      kind: 'bigquery#table',
      id: `${project}:${dataset}.${table}`,
      etag: meta.etag,
      tableReference: { projectId: project, datasetId: dataset, tableId: table },
      schema: { fields: meta.fields },
      ...(meta.timePartitioning ? { timePartitioning: meta.timePartitioning } : {}),
      ...(meta.clustering ? { clustering: meta.clustering } : {}),
      ...(meta.expirationTime ? { expirationTime: meta.expirationTime } : {}),
      numRows: String(numRows),
      creationTime: meta.creationTime,
      type: 'TABLE',
    };
  }
}

function duckName(dataType: string): string {
  return dataType === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMPTZ' : dataType;
}
