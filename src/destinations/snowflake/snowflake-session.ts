/**
 * Snowflake sessions: one snowflake-sdk connection each, promisified, every statement tagged with
 * QUERY_TAG (a statement parameter, so a shared session never carries a stale tag) and run with
 * `rowMode: 'array'`. A session whose error says it is gone is marked broken and never reused.
 * The pool hands a session to one user at a time: a load keeps its session from beginLoad to the
 * end (its temporary staging table and its transaction live there), short statements borrow one.
 * If two users shared a session, one's BEGIN/COMMIT would wrap the other's statements.
 */
import snowflake from 'snowflake-sdk';
import type { Logger } from '../../core/contracts.js';
import { classifySnowflakeError, errorAction } from './snowflake-errors.js';

export type Bind = string | number | boolean | null;

export interface QueryResult {
  rows: unknown[][];
  /** Rows inserted/updated/deleted by a DML statement (-1 otherwise). */
  updated: number;
}

let configured = false;
function configureDriver(): void {
  if (configured) return;
  configured = true;
  // the driver's own log would go to stdout/a file; our errors carry what matters
  snowflake.configure({ logLevel: 'OFF', additionalLogToConsole: false } as snowflake.ConfigureOptions);
}

export class SnowflakeSession {
  broken = false;
  constructor(
    private readonly conn: snowflake.Connection,
    readonly id: number,
  ) {}

  /**
   * Runs one statement. `binds` are values for `?` (an array of rows for an array bind).
   * Errors are classified here; a "session gone" error marks the session broken.
   */
  run(sql: string, binds: Bind[] | Bind[][] = [], tag?: string, context = 'query'): Promise<QueryResult> {
    return new Promise((resolve, reject) => {
      this.conn.execute({
        sqlText: sql,
        binds: binds as snowflake.Binds,
        rowMode: 'array',
        ...(tag ? { parameters: { QUERY_TAG: tag } } : {}),
        complete: (err, stmt, rows) => {
          if (err) {
            if (errorAction(err) === 'reconnect') this.broken = true;
            reject(classifySnowflakeError(err, context, sql));
            return;
          }
          resolve({ rows: (rows ?? []) as unknown[][], updated: stmt.getNumUpdatedRows() ?? -1 });
        },
      });
    });
  }

  async destroy(): Promise<void> {
    await new Promise<void>((resolve) => this.conn.destroy(() => resolve()));
  }
}

export class SessionPool {
  private readonly idle: SnowflakeSession[] = [];
  private readonly all = new Set<SnowflakeSession>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly options: snowflake.ConnectionOptions,
    private readonly log: Logger,
    /** Statements run once on every new session (e.g. ALTER SESSION SET TIMEZONE). */
    private readonly setup: string[],
    private readonly target: string,
  ) {
    configureDriver();
  }

  /**
   * A session for exclusive use until `release`. Logs in when no idle session is left, or always
   * with `fresh` (after a lost session: the idle ones may have expired the same way).
   */
  async acquire(fresh = false): Promise<SnowflakeSession> {
    if (this.closed) throw classifySnowflakeError(new Error('destination is closed'), this.target);
    if (!fresh) for (let s = this.idle.pop(); s; s = this.idle.pop()) if (!s.broken) return s;
    const conn = snowflake.createConnection(this.options);
    try {
      await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw classifySnowflakeError(err, `cannot connect to Snowflake ${this.target}`);
    }
    const session = new SnowflakeSession(conn, this.nextId++);
    this.all.add(session);
    for (const sql of this.setup) await session.run(sql, [], undefined, 'session setup');
    this.log.debug({ session: session.id }, 'snowflake session opened');
    return session;
  }

  /** Back to the pool, or logged out when broken (a broken session is never handed out again). */
  release(session: SnowflakeSession): void {
    if (session.broken || this.closed) void this.discard(session);
    else this.idle.push(session);
  }

  async discard(session: SnowflakeSession): Promise<void> {
    this.all.delete(session);
    await session.destroy().catch(() => undefined);
  }

  /** Borrow a session for `fn`; a lost session is replaced and `fn` tried once more. */
  async with<T>(fn: (s: SnowflakeSession) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.acquire(attempt > 1);
      try {
        return await fn(session);
      } catch (err) {
        if (!session.broken || attempt >= 2) throw err;
        this.log.warn({ session: session.id }, 'snowflake session lost; reconnecting');
      } finally {
        this.release(session);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.all([...this.all].map((s) => this.discard(s)));
  }
}
