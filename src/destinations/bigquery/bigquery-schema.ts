/**
 * Brings a target (or history) table to a schema before the commit transaction: BigQuery does not
 * allow DDL inside a multi-statement transaction, so these changes are made first, each one
 * atomic on its own and safe to repeat: create (tables.insert, partitioned by the cursor's day
 * and clustered by the key), add columns (tables.patch, NULL for existing rows), widen in place
 * (ALTER COLUMN SET DATA TYPE: INT64 → NUMERIC → BIGNUMERIC → FLOAT64), and every other
 * widening by an atomic rebuild (CREATE OR REPLACE TABLE … AS SELECT with the converted column).
 * A commit that fails afterwards leaves these changes in place (capabilities.transactionalDdl is
 * false): the table is then wider than its column map, which the next commit simply confirms.
 */
import type { TableField, TableMetadata } from '@google-cloud/bigquery';
import type { Logger, LogicalType, TableSchema } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import type { BqClient } from './bigquery-client.js';
import { isDuplicate, isNotFound } from './bigquery-errors.js';
import { DELETED_AT, quoteIdent, tableRef } from './bigquery-sql.js';
import {
  alterableInPlace,
  bqTypeFor,
  clusterable,
  convertExpr,
  cover,
  decimalType,
  holds,
  logicalFromNative,
  standardType,
  type BqType,
  type DecimalNeed,
} from './bigquery-types.js';

export interface EnsureResult {
  created: boolean;
  /** Native type of every schema column after the changes. */
  natives: Map<string, BqType>;
}

interface Plan {
  meta: TableMetadata | null;
  natives: Map<string, BqType>;
  added: TableField[];
  inPlace: Array<{ name: string; to: BqType }>;
  rebuild: Array<{ name: string; from: BqType; to: BqType }>;
}

export async function readMetadata(client: BqClient, table: string): Promise<TableMetadata | null> {
  return client.withRetry(`describing ${table}`, undefined, async () => {
    try {
      const [meta] = await client.bq.dataset(client.dataset).table(table).getMetadata();
      return meta as TableMetadata;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  });
}

/** What `schema` needs of the table as it is. `want` overrides a column's type (history follows its target). */
export function planTable(
  meta: TableMetadata | null,
  schema: TableSchema,
  decimals: ReadonlyMap<string, DecimalNeed>,
  opts: { deletedAt: boolean; want?: ReadonlyMap<string, BqType> },
): Plan {
  const have = new Map((meta?.schema?.fields ?? []).map((f) => [f.name ?? '', standardType(f.type ?? '')]));
  const plan: Plan = { meta, natives: new Map(), added: [], inPlace: [], rebuild: [] };
  for (const c of schema.columns) {
    const need = decimals.get(c.name) ?? { intDigits: 0, scale: 0 };
    const wanted = opts.want?.get(c.name) ?? bqTypeFor(c.type, need);
    const current = have.get(c.name) as BqType | undefined;
    if (!current) {
      plan.natives.set(c.name, wanted);
      plan.added.push({ name: c.name, type: wanted, mode: 'NULLABLE' });
      continue;
    }
    const logical = logicalFromNative(current);
    if (logical === 'unknown') {
      plan.natives.set(c.name, current); // a column someone else typed: cast into it
      continue;
    }
    const covering = cover(logical, c.type);
    if (covering === null) {
      throw new DestinationError(
        `${schema.table}.${c.name} is ${current} in the warehouse and cannot hold ${c.type} values (only widening is allowed)`,
      );
    }
    let target: BqType = opts.want?.get(c.name) ?? bqTypeFor(covering as LogicalType, need);
    if (covering === 'decimal' && !opts.want) {
      const floor = current === 'BIGNUMERIC' ? 'BIGNUMERIC' : 'NUMERIC';
      const byNeed = decimalType(need);
      target = byNeed === 'STRING' ? 'STRING' : holds(byNeed, floor) ? floor : byNeed;
    }
    if (holds(target, current)) target = current;
    plan.natives.set(c.name, target);
    if (target === current) continue;
    if (alterableInPlace(current, target)) plan.inPlace.push({ name: c.name, to: target });
    else plan.rebuild.push({ name: c.name, from: current, to: target });
  }
  if (opts.deletedAt && !have.has(DELETED_AT))
    plan.added.push({ name: DELETED_AT, type: 'TIMESTAMP', mode: 'NULLABLE' });
  return plan;
}

export function needsChange(plan: Plan): boolean {
  return !plan.meta || plan.added.length > 0 || plan.inPlace.length > 0 || plan.rebuild.length > 0;
}

/** Applies `plan` to `schema.table`; returns whether the table was created. */
export async function applyPlan(
  client: BqClient,
  schema: TableSchema,
  plan: Plan,
  log: Logger,
): Promise<boolean> {
  const dataset = client.bq.dataset(client.dataset);
  const table = dataset.table(schema.table);
  if (!plan.meta) {
    const cursorType = plan.natives.get(schema.cursorColumn);
    const cluster = schema.primaryKey.filter((k) => clusterable(plan.natives.get(k) ?? 'JSON')).slice(0, 4);
    const created = await client.withRetry(`creating ${schema.table}`, undefined, async () => {
      try {
        await dataset.createTable(schema.table, {
          schema: { fields: plan.added },
          ...(cursorType === 'DATE' || cursorType === 'TIMESTAMP'
            ? { timePartitioning: { type: 'DAY', field: schema.cursorColumn } }
            : {}),
          ...(cluster.length > 0 ? { clustering: { fields: cluster } } : {}),
        });
        return true;
      } catch (err) {
        if (isDuplicate(err)) return false; // created meanwhile by another process
        throw err;
      }
    });
    if (created) {
      log.info({ table: schema.table, clusteredBy: cluster }, 'table created');
      return true;
    }
    return applyPlan(client, schema, planAgain(await readMetadata(client, schema.table), schema, plan), log);
  }
  if (plan.added.length > 0) {
    const fields = [...(plan.meta.schema?.fields ?? []), ...plan.added];
    await client.withRetry(`adding columns to ${schema.table}`, undefined, () =>
      table.setMetadata({ schema: { fields } }),
    );
    log.info({ table: schema.table, columns: plan.added.map((f) => f.name) }, 'columns added');
  }
  const ref = tableRef(client.dataset, schema.table);
  for (const w of plan.inPlace) {
    const sql = `ALTER TABLE ${ref} ALTER COLUMN ${quoteIdent(w.name)} SET DATA TYPE ${w.to}`;
    await client.query(sql, {}, `widening ${schema.table}.${w.name}`);
    log.info({ table: schema.table, column: w.name, to: w.to }, 'column widened in place');
  }
  if (plan.rebuild.length > 0) await rebuild(client, schema, plan, log);
  return false;
}

function planAgain(meta: TableMetadata | null, schema: TableSchema, old: Plan): Plan {
  const plan = planTable(meta, schema, new Map(), {
    deletedAt: old.added.some((f) => f.name === DELETED_AT),
    want: old.natives,
  });
  return plan;
}

/**
 * BigQuery cannot change these types in place: the table is replaced, in one atomic statement,
 * by a copy with the converted columns, keeping its partitioning and clustering.
 */
async function rebuild(client: BqClient, schema: TableSchema, plan: Plan, log: Logger): Promise<void> {
  const ref = tableRef(client.dataset, schema.table);
  const replaces = plan.rebuild.map(
    (w) => `${convertExpr(quoteIdent(w.name), w.from, w.to)} AS ${quoteIdent(w.name)}`,
  );
  const partField = plan.meta?.timePartitioning?.field;
  const partType = partField ? plan.natives.get(partField) : undefined;
  const partition = partField
    ? partType === 'DATE'
      ? ` PARTITION BY ${quoteIdent(partField)}`
      : ` PARTITION BY TIMESTAMP_TRUNC(${quoteIdent(partField)}, DAY)`
    : '';
  const cluster = (plan.meta?.clustering?.fields ?? []).filter((c) =>
    clusterable(plan.natives.get(c) ?? 'STRING'),
  );
  const clusterBy = cluster.length > 0 ? ` CLUSTER BY ${cluster.map(quoteIdent).join(', ')}` : '';
  const sql = `CREATE OR REPLACE TABLE ${ref}${partition}${clusterBy} AS SELECT * REPLACE (${replaces.join(', ')}) FROM ${ref}`;
  log.info(
    { table: schema.table, columns: plan.rebuild.map((w) => `${w.name}: ${w.from} → ${w.to}`) },
    'rebuilding table: BigQuery cannot change these column types in place',
  );
  await client.query(sql, {}, `rebuilding ${schema.table}`);
}
