/**
 * Sessions and statement execution of the stand-in. Each Snowflake session is one DuckDB
 * connection (so BEGIN/COMMIT and temporary tables are per session, as in Snowflake), statements
 * of one session run one at a time, and every statement is recorded with its binds and QUERY_TAG
 * for tests to assert. Faults can be injected per statement pattern (an error code once or n times).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { copyStatements, parseCopy, parsePut, purge, putResponse, stageDirectory } from './stage.js';
import { statementTypeId, temporaryTableName, translate, type SessionNames } from './translate.js';
import { encodeCell, failure, mapDuckError, rowtype, success, type SnowflakeFailure } from './wire.js';

export interface Session extends SessionNames {
  id: number;
  token: string;
  masterToken: string;
  schema: string;
  conn: DuckDBConnection;
  temporary: Set<string>;
  queue: Promise<unknown>;
  expired: boolean;
}

export interface RecordedStatement {
  session: number;
  sql: string;
  binds: unknown[];
  queryTag: string | undefined;
}

export interface Fault extends SnowflakeFailure {
  match: RegExp;
  times: number;
}

interface Binding {
  type: string;
  value: unknown;
}

function toParam(b: Binding, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (b.type === 'FIXED' && /^-?\d{1,15}$/.test(String(value))) return Number(value);
  if (b.type === 'REAL') return Number(value);
  if (b.type === 'BOOLEAN') return value === true || String(value).toLowerCase() === 'true';
  return String(value);
}

/** Binds in order; for an array bind, one row of values per entry. */
function bindRows(bindings: Record<string, Binding> | undefined): { array: boolean; rows: unknown[][] } {
  const list = Object.keys(bindings ?? {})
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => bindings![k]!);
  const array = list.some((b) => Array.isArray(b.value));
  if (!array) return { array, rows: [list.map((b) => toParam(b, b.value))] };
  const n = (list[0]?.value as unknown[]).length;
  const rows = Array.from({ length: n }, (_, i) => list.map((b) => toParam(b, (b.value as unknown[])[i])));
  return { array, rows };
}

export class StandinEngine {
  readonly sessions = new Map<string, Session>();
  readonly statements: RecordedStatement[] = [];
  readonly faults: Fault[] = [];
  private nextId = 1;

  constructor(
    readonly instance: DuckDBInstance,
    private readonly stageRoot: string,
  ) {}

  async openSession(names: SessionNames & { schema: string }): Promise<Session> {
    const conn = await this.instance.connect();
    await conn.run(`SET TimeZone = 'UTC'`);
    const session: Session = {
      ...names,
      id: this.nextId++,
      token: randomUUID(),
      masterToken: randomUUID(),
      conn,
      temporary: new Set(),
      queue: Promise.resolve(),
      expired: false,
    };
    this.sessions.set(session.token, session);
    return session;
  }

  async closeSession(session: Session): Promise<void> {
    this.sessions.delete(session.token);
    await session.queue.catch(() => undefined);
    await session.conn.run('ROLLBACK').catch(() => undefined);
    for (const t of session.temporary)
      await session.conn.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    session.conn.closeSync();
  }

  /** Runs one query-request body on the session, in order with its other statements. */
  execute(session: Session, body: Record<string, unknown>): Promise<unknown> {
    const run = session.queue.then(() => this.run(session, body));
    session.queue = run.catch(() => undefined);
    return run;
  }

  private async run(session: Session, body: Record<string, unknown>): Promise<unknown> {
    const sql = String(body.sqlText ?? '');
    const { array, rows } = bindRows(body.bindings as Record<string, Binding> | undefined);
    const params = (body.parameters ?? {}) as Record<string, unknown>;
    this.statements.push({
      session: session.id,
      sql,
      binds: array ? rows : (rows[0] ?? []),
      queryTag: typeof params.QUERY_TAG === 'string' ? params.QUERY_TAG : undefined,
    });
    const fault = this.faults.find((f) => f.times > 0 && f.match.test(sql));
    if (fault) {
      fault.times -= 1;
      return failure(fault);
    }
    try {
      if (/^\s*ALTER\s+SESSION\b/i.test(sql)) return this.status('Statement executed successfully.');
      const put = parsePut(sql);
      if (put) return success(putResponse(put, stageDirectory(this.stageRoot, put.stage)));
      const copy = parseCopy(sql);
      if (copy) return await this.copy(session, copy);
      const text = translate(sql, session);
      const temp = temporaryTableName(sql);
      if (array) return await this.arrayInsert(session, sql, text, rows);
      const reader = await session.conn.runAndReadAll(text, rows[0] as never);
      if (temp) session.temporary.add(temp);
      const type = statementTypeId(sql);
      const names = reader.columnNames();
      const types = reader.columnTypes().map((t) => t.toString());
      const values = reader.getRowsJson() as unknown[][];
      if (type >= 0x3000 && type < 0x4000) {
        const count = String(values[0]?.[0] ?? '0');
        return this.dml(type, count);
      }
      const columns = names.map((name, i) => ({ name, duckType: types[i]! }));
      return success({
        statementTypeId: type,
        rowtype: rowtype(columns),
        rowset: values.map((row) => row.map((v, i) => encodeCell(v, columns[i]!.duckType))),
        total: values.length,
        returned: values.length,
      });
    } catch (err) {
      return failure(mapDuckError(err));
    }
  }

  private status(text: string): unknown {
    return success({
      statementTypeId: 0x6000,
      rowtype: rowtype([{ name: 'status', duckType: 'VARCHAR' }]),
      rowset: [[text]],
      total: 1,
      returned: 1,
    });
  }

  private dml(type: number, count: string): unknown {
    const name =
      type === 0x3300
        ? 'number of rows deleted'
        : type === 0x3200
          ? 'number of rows updated'
          : 'number of rows inserted';
    return success({
      statementTypeId: type,
      rowtype: rowtype([{ name, duckType: 'BIGINT' }]),
      rowset: [[count]],
      total: 1,
      returned: 1,
    });
  }

  /** INSERT … VALUES (?, …) with array binds: one multi-row VALUES per 500 rows. */
  private async arrayInsert(
    session: Session,
    sql: string,
    text: string,
    rows: unknown[][],
  ): Promise<unknown> {
    const m = /^(.*\bVALUES\s*)(\([^()]*\))\s*$/is.exec(text);
    if (!m) throw new Error(`stand-in: array binds only for INSERT … VALUES (…): ${sql}`);
    let total = 0;
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const values = chunk.map(() => m[2]).join(', ');
      const reader = await session.conn.runAndReadAll(`${m[1]}${values}`, chunk.flat() as never);
      total += Number((reader.getRowsJson() as unknown[][])[0]?.[0] ?? 0);
    }
    return this.dml(0x3100, String(total));
  }

  private async copy(session: Session, copy: NonNullable<ReturnType<typeof parseCopy>>): Promise<unknown> {
    const dir = stageDirectory(this.stageRoot, copy.stage);
    const rowset: unknown[][] = [];
    const done: string[] = [];
    for (const { file, sql } of copyStatements(copy, dir)) {
      const reader = await session.conn.runAndReadAll(sql);
      const n = String((reader.getRowsJson() as unknown[][])[0]?.[0] ?? 0);
      rowset.push([join('stage', file), 'LOADED', n, n, '1', '0', null, null, null, null]);
      done.push(file);
    }
    if (copy.purge) purge(dir, done);
    const names = [
      'file',
      'status',
      'rows_parsed',
      'rows_loaded',
      'error_limit',
      'errors_seen',
      'first_error',
      'first_error_line',
      'first_error_character',
      'first_error_column_name',
    ];
    const types = [
      'VARCHAR',
      'VARCHAR',
      'BIGINT',
      'BIGINT',
      'BIGINT',
      'BIGINT',
      'VARCHAR',
      'BIGINT',
      'BIGINT',
      'VARCHAR',
    ];
    return success({
      statementTypeId: 0x1000,
      rowtype: rowtype(names.map((name, i) => ({ name, duckType: types[i]! }))),
      rowset,
      total: rowset.length,
      returned: rowset.length,
    });
  }
}
