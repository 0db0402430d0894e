/**
 * A local stand-in of Snowflake's HTTP protocol for tests: node:http on 127.0.0.1, DuckDB
 * executing the SQL after a small Snowflake → DuckDB translation (translate.ts), PUT through
 * snowflake-sdk's LOCAL_FS path and COPY INTO from those files (stage.ts). The REAL snowflake-sdk
 * is pointed at it with `access_url`. It is a protocol and contract fake: it records every
 * statement so tests can assert what the destination sends; it is not a Snowflake SQL oracle.
 *
 *   const sf = await startSnowflakeStandin();
 *   writeFileSync('exportsync.yaml', sf.yaml({ schema: 'analytics' }) + sourcesYaml);
 *   …
 *   await sf.stop();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { StandinEngine, type RecordedStatement } from './engine.js';
import { handler, type AuthOptions, type ServerState } from './server.js';
import { SETUP_SQL } from './translate.js';

export type { RecordedStatement } from './engine.js';

export interface SnowflakeStandin {
  /** `http://127.0.0.1:PORT`: the destination's `access_url`. */
  url: string;
  /** The `destination:` section for this stand-in (password auth), as YAML text. */
  yaml(options?: { schema?: string }): string;
  /** The section as one line of YAML flow text, for `destination: ${…}`. */
  destinationYaml(options?: { schema?: string }): string;
  /** The same section as a config object (snake_case keys, as the YAML parses). */
  config(options?: { schema?: string }): {
    type: 'snowflake';
    account: string;
    user: string;
    password: string;
    database: string;
    schema: string;
    warehouse: string;
    access_url: string;
  };
  /** Every statement received so far, in order. */
  statements: RecordedStatement[];
  /** SQL straight on the DuckDB behind it (test assertions; DuckDB dialect). */
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  /** The next `times` statements matching `match` fail with this Snowflake error. */
  failNext(match: RegExp, error: { code: string; message: string; sqlState?: string }, times?: number): void;
  /** Every open session's token expires (390112); with `master`, renewal fails too (390114). */
  expireSessions(options?: { master?: boolean }): void;
  /** Logins so far (a reconnect is a new login). */
  readonly logins: number;
  stop(): Promise<void>;
}

export async function startSnowflakeStandin(auth: AuthOptions = {}): Promise<SnowflakeStandin> {
  const root = mkdtempSync(join(tmpdir(), 'exportsync-sf-standin-'));
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const setup = await instance.connect();
  for (const sql of SETUP_SQL) await setup.run(sql);
  const engine = new StandinEngine(instance, join(root, 'stages'));
  const state: ServerState = { engine, auth, masterExpired: new Set(), logins: 0 };
  const server = createServer((req, res) => void handler(state)(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = (options: { schema?: string } = {}) => ({
    type: 'snowflake' as const,
    account: 'standin',
    user: 'tester',
    password: auth.password ?? 'standin-password',
    database: 'STANDIN',
    schema: options.schema ?? 'exportsync',
    warehouse: 'STANDIN_WH',
    access_url: url,
  });
  return {
    url,
    config,
    yaml(options = {}) {
      const c = config(options);
      return ['destination:', ...Object.entries(c).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`), ''].join(
        '\n',
      );
    },
    destinationYaml: (options = {}) => JSON.stringify(config(options)),
    statements: engine.statements,
    async query(sql) {
      const reader = await setup.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Array<Record<string, unknown>>;
    },
    failNext(match, error, times = 1) {
      engine.faults.push({
        match,
        times,
        code: error.code,
        message: error.message,
        sqlState: error.sqlState ?? '',
      });
    },
    expireSessions(options = {}) {
      for (const s of engine.sessions.values()) {
        s.expired = true;
        if (options.master) state.masterExpired.add(s.masterToken);
      }
    },
    get logins() {
      return state.logins;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...engine.sessions.values()]) await engine.closeSession(s);
      setup.closeSync();
      instance.closeSync();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
