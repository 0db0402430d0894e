/**
 * Secrets: source tokens and the database password, given in the config, must never appear in
 * anything exportsync prints or stores. The real CLI runs at debug log level through a good
 * sync, a rejected token, a source that echoes the Authorization header back in its error body,
 * `check`, `plan`, `state show` (text and JSON), and Postgres URLs the driver fails on (unknown
 * database, SSL refused, a port that is not a number, a refused connection) — and every byte of
 * stdout and stderr, plus every `_exportsync_*` table, is searched for each secret, raw and
 * percent-decoded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startScarfSimulator } from '../../connectors/scarf/simulator.js';
import { startOfUtcDay } from '../../src/core/time.js';
import { TEST_DATABASE_URL } from '../support/postgres.js';
import { configFiles, runExportsync } from './spawn.js';
import { tableExists, type Target } from '../e2e/harness.js';
import { count, expectThat, newReport, timed, type SuiteReport } from './common.js';
import type { ChaosDestination } from './destinations.js';

const GOOD = 'scarf-good-Q7v2LmX9pT';
const BAD = 'scarf-revoked-Zk81Qw55Mn';
const ECHOED = 'scarf-echoed-Hh3Jd8Ke2W';
/** Percent-encoded in the URL ('@' and '/'): both spellings must stay hidden. */
const PASSWORD_ENCODED = 'pw%40Secr3t%2Fx9';
const PASSWORD = decodeURIComponent(PASSWORD_ENCODED);
const SECRETS = [GOOD, BAD, ECHOED, PASSWORD, PASSWORD_ENCODED];

/** A source that answers 400 quoting the request's Authorization header, as some APIs do. */
async function echoServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        message: `request rejected: header ${req.headers.authorization} is not valid for this owner; raw token ${String(req.headers.authorization).replace(/^Bearer /, '')}`,
        code: 'bad-request',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Output {
  what: string;
  code: number | null;
  text: string;
}

async function cli(what: string, args: string[]): Promise<Output> {
  const r = await runExportsync(args, { env: { EXPORTSYNC_LOG_LEVEL: 'debug' } });
  return { what, code: r.code, text: `${r.stdout}\n${r.stderr}` };
}

export async function secretsSuite(o: {
  destination: ChaosDestination;
  /** 'run': only `run` and `state show --json` (CI size for a second destination). */
  commands?: 'all' | 'run';
}): Promise<SuiteReport> {
  const report = newReport('secrets', o.destination.name);
  const backend = o.destination.backend();
  const configs = configFiles();
  const sim = await startScarfSimulator({ token: GOOD, eventsPerDay: 5, now: startOfUtcDay(new Date()) });
  const echo = await echoServer();
  return timed(report, async () => {
    try {
      const t = backend.target();
      const pg = o.destination.pgSession;
      const withPassword = (url: string) =>
        url.replace('postgres://postgres@', `postgres://postgres:${PASSWORD_ENCODED}@`);
      const destination = pg
        ? t.destinationYaml.replace(`"${TEST_DATABASE_URL}"`, `"${withPassword(TEST_DATABASE_URL)}"`)
        : t.destinationYaml;
      if (pg)
        expectThat(report, destination.includes(PASSWORD_ENCODED), 'the Postgres URL carries the password');
      const sources = [
        `  - { type: scarf, name: good, owner: acme, token: ${GOOD}, base_url: "${sim.url}" }`,
        `  - { type: scarf, name: revoked, owner: acme, token: ${BAD}, base_url: "${sim.url}" }`,
        `  - { type: scarf, name: echoed, owner: acme, token: ${ECHOED}, base_url: "${echo.url}" }`,
      ];
      const sync = 'sync: { backfill_days: 2, retry: { attempts: 2, min_delay_ms: 1, max_delay_ms: 5 } }';
      const config = configs.write(`destination: ${destination}\n${sync}\nsources:\n${sources.join('\n')}\n`);
      const outputs: Output[] = [];
      outputs.push(await cli('run', ['run', '--config', config]));
      const all = o.commands !== 'run';
      outputs.push(
        ...(await Promise.all([
          cli('state show --json', ['state', 'show', '--json', '--config', config]),
          ...(all
            ? [
                cli('state show', ['state', 'show', '--config', config]),
                cli('check', ['check', '--config', config]),
                cli('plan', ['plan', '--config', config]),
              ]
            : []),
        ])),
      );
      expectThat(
        report,
        outputs[0]?.code === 3,
        `run: partial exit 3 (one good, two failing sources), got ${outputs[0]?.code}`,
      );
      expectThat(
        report,
        /echoed\.events +FAILED: .*400/.test(outputs[0]?.text ?? ''),
        'run: the echoing source fails naming the 400',
      );
      if (pg && all) {
        const bad = (label: string, url: string) =>
          cli(label, [
            'run',
            '--config',
            configs.write(
              `destination: { type: postgres, url: "${url}", schema: chaos_secrets }\n${sync}\nsources:\n${sources[0]}\n`,
            ),
          ]);
        const base = withPassword(TEST_DATABASE_URL);
        outputs.push(
          ...(await Promise.all([
            bad('pg: unknown database', base.replace(/\/[^/?]*(\?|$)/, '/exportsync_no_such_db$1')),
            bad('pg: SSL refused', `${base}${base.includes('?') ? '&' : '?'}sslmode=require`),
            bad('pg: port not a number', base.replace(/:(\d+)\//, ':port$1/')),
            bad('pg: connection refused', base.replace(/:(\d+)\//, ':1/')),
          ])),
        );
        for (const out of outputs.slice(-4))
          expectThat(
            report,
            out.code === 1,
            `${out.what}: exit 1 (got ${out.code}): ${out.text.slice(-300)}`,
          );
      }
      for (const out of outputs) {
        count(report, 'outputs searched');
        count(report, 'bytes searched', out.text.length);
        for (const s of SECRETS)
          expectThat(
            report,
            !out.text.includes(s),
            `${out.what}: output shows the secret ${s}: …${around(out.text, s)}…`,
          );
        expectThat(
          report,
          !/\n\s+at \S+ \(.*:\d+:\d+\)/.test(out.text),
          `${out.what}: no stack trace in the output`,
        );
        report.notes.push(`${out.what}: exit ${out.code}, ${out.text.length} bytes`);
      }
      const stored = await storedText(t);
      count(report, 'bytes searched', stored.length);
      for (const s of SECRETS)
        expectThat(
          report,
          !stored.includes(s),
          `bookkeeping tables store the secret ${s}: …${around(stored, s)}…`,
        );
      expectThat(
        report,
        stored.includes('echoed.events'),
        'the runs table recorded the failing stream (the search is not vacuous)',
      );
    } finally {
      await sim.close();
      await echo.close();
      await backend.cleanup();
      configs.cleanup();
    }
  });
}

const around = (text: string, s: string): string => {
  const i = text.indexOf(s);
  return text.slice(Math.max(0, i - 80), i + s.length + 20).replace(/\s+/g, ' ');
};

/** Every row of every `_exportsync_*` table, as JSON text. */
async function storedText(t: Target): Promise<string> {
  const parts: string[] = [];
  for (const table of [
    '_exportsync_runs',
    '_exportsync_state',
    '_exportsync_columns',
    '_exportsync_windows',
  ]) {
    if (!(await tableExists(t, table))) continue;
    const rows = await t.query(`SELECT * FROM ${t.table(table)}`);
    parts.push(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  }
  return parts.join('\n');
}
