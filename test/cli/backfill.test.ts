/**
 * `exportsync backfill` without a warehouse: the flags (exit 2 naming the flag, before the
 * destination is opened), the plan every shard computes on its own (global order, k mod n,
 * independent of the clock), resume coverage, and the progress output (bar on a TTY, log lines).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { formatBackfillSummary, parseBackfillFlags } from '../../src/commands/backfill.js';
import { barProgress, logProgress } from '../../src/commands/backfill-progress.js';
import { formatStatus } from '../../src/commands/backfill-status.js';
import type { Source, StreamDefinition, Window } from '../../src/core/contracts.js';
import { ConfigError, EXIT } from '../../src/core/errors.js';
import {
  isCovered,
  parseShard,
  planBackfill,
  shardWindows,
  type BackfillPlan,
} from '../../src/engine/backfill-plan.js';
import type { WindowEvent } from '../../src/engine/backfill.js';
import type { SelectedStream } from '../../src/engine/sources.js';
import { cli, scarfSource, tempDir, writeConfig } from './helpers.js';

const day = (s: string) => new Date(`${s}T00:00:00Z`);
const win = (a: string, b: string): Window => ({ from: day(a), to: day(b) });
const NOW = new Date('2026-11-25T12:00:00Z');

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** A selected stream with only what the planner reads. */
function stream(source: string, name: string, over: Partial<StreamDefinition> = {}): SelectedStream {
  return {
    source: { name: source } as Source,
    sourceIndex: 0,
    stream: { name, windowDays: 1, writeMode: 'merge', ...over } as StreamDefinition,
    settings: {} as SelectedStream['settings'],
  };
}

const keys = (plan: BackfillPlan, windows = plan.windows) =>
  windows.map((w) => `${w.streamKey} ${w.window.from.toISOString().slice(0, 10)}`);

describe('backfill flags', () => {
  it('accepts a range, a shard as Kubernetes writes it, streams and --redo', () => {
    expect(
      parseBackfillFlags(
        { from: '2025-01-01', to: '2025-02-01', shard: '3/8', streams: ['events'], redo: true },
        NOW,
      ),
    ).toEqual({
      range: win('2025-01-01', '2025-02-01'),
      shard: { index: 3, count: 8 },
      streams: ['events'],
      redo: true,
    });
    expect(parseBackfillFlags({ from: '2026-11-01', to: '2026-11-26' }, NOW).shard).toEqual({
      index: 0,
      count: 1,
    });
  });

  it('names each bad flag, all at once', () => {
    expect(issuesOf(() => parseBackfillFlags({}, NOW))).toEqual([
      '--from: required (YYYY-MM-DD)',
      '--to: required (YYYY-MM-DD)',
    ]);
    expect(
      issuesOf(() => parseBackfillFlags({ from: '2025-13-01', to: 'tomorrow', shard: '4/4' }, NOW)),
    ).toEqual([
      '--from: not a YYYY-MM-DD date: "2025-13-01"',
      '--to: not a YYYY-MM-DD date: "tomorrow"',
      '--shard: expected i/n with 0 <= i < n (e.g. 0/4, or $JOB_COMPLETION_INDEX/4), got "4/4"',
    ]);
    expect(issuesOf(() => parseBackfillFlags({ from: '2025-02-01', to: '2025-02-01' }, NOW))[0]).toMatch(
      /^--to: must be after --from/,
    );
    // the range may end with today, not later: a future window would be recorded done with nothing in it
    expect(issuesOf(() => parseBackfillFlags({ from: '2026-11-01', to: '2026-11-27' }, NOW))[0]).toBe(
      '--to: 2026-11-27 is in the future; at most 2026-11-26 (the range then ends with today, UTC)',
    );
    for (const bad of ['1', '1/0', '-1/2', '$(JOB_COMPLETION_INDEX)/4', '0/2/3', '']) {
      expect(issuesOf(() => parseShard(bad))[0], bad).toMatch(/^--shard: /);
    }
  });
});

describe('backfill plan', () => {
  const streams = [stream('scarf', 'events'), stream('marketplace', 'installs', { windowDays: 7 })];
  const range = win('2025-01-01', '2025-01-15');

  it('orders windows by stream key, then start; cuts each stream by its windowDays', () => {
    const plan = planBackfill(streams, range, NOW);
    expect(keys(plan).slice(0, 3)).toEqual([
      'marketplace.installs 2025-01-01',
      'marketplace.installs 2025-01-08',
      'scarf.events 2025-01-01',
    ]);
    expect(plan.windows.map((w) => w.index)).toEqual([...Array(16).keys()]);
    expect(plan.windows.at(-1)?.window).toEqual(win('2025-01-14', '2025-01-15'));
  });

  it('n shards take every window exactly once, window k going to shard k mod n', () => {
    const plan = planBackfill(streams, range, NOW);
    for (const n of [1, 2, 3, 5, 16, 40]) {
      const taken = Array.from({ length: n }, (_, i) => shardWindows(plan, { index: i, count: n }));
      expect(
        taken
          .flat()
          .map((w) => w.index)
          .sort((a, b) => a - b),
      ).toEqual(plan.windows.map((w) => w.index));
      taken.forEach((ws, i) => expect(ws.every((w) => w.index % n === i)).toBe(true));
    }
  });

  it('does not depend on the order streams are configured in, nor on the clock for its shard assignment', () => {
    const edge = (now: Date) => new Date(now.getTime() - 30 * 86_400_000);
    const retained = [
      stream('scarf', 'events'),
      stream('marketplace', 'installs', { earliestAvailable: edge }),
    ];
    const wide = win('2026-10-01', '2026-11-01');
    const today = planBackfill(retained, wide, NOW);
    const reversed = planBackfill([...retained].reverse(), wide, NOW);
    expect(keys(reversed)).toEqual(keys(today));
    // a pod retried two days later sees a later retention edge: fewer windows, the same owners
    const later = planBackfill(retained, wide, new Date(NOW.getTime() + 2 * 86_400_000));
    const owner = (p: BackfillPlan) =>
      new Map(p.windows.map((w) => [`${w.streamKey} ${w.window.to.toISOString()}`, w.index]));
    for (const [key, index] of owner(later)) expect(owner(today).get(key), key).toBe(index);
    expect(later.windows.length).toBe(today.windows.length - 2);
    // windows wholly before the edge are lost (reported), one straddling it starts at the edge
    expect(today.lost.map((l) => l.streamKey)).toEqual(Array(today.lost.length).fill('marketplace.installs'));
    expect(today.windows.find((w) => w.streamKey === 'marketplace.installs')?.window.from).toEqual(edge(NOW));
  });

  it('skips snapshot and file streams, saying why', () => {
    const plan = planBackfill(
      [
        stream('scarf', 'events'),
        stream('scarf', 'company_rollup', { writeMode: 'snapshot' }),
        stream('s3', 'files', { listUnits: async () => [] }),
      ],
      win('2025-01-01', '2025-01-03'),
      NOW,
    );
    expect(keys(plan)).toEqual(['scarf.events 2025-01-01', 'scarf.events 2025-01-02']);
    expect(plan.skipped.map((s) => s.streamKey)).toEqual(['s3.files', 'scarf.company_rollup']);
    expect(plan.skipped[1]?.reason).toMatch(/^snapshot stream: /);
  });

  it('a window counts as done when done windows cover it, whole or in pieces', () => {
    const w = win('2025-01-01', '2025-01-05');
    expect(isCovered(w, [w])).toBe(true);
    expect(isCovered(w, [win('2025-01-01', '2025-01-03'), win('2025-01-03', '2025-01-05')])).toBe(true);
    expect(isCovered(w, [win('2024-12-01', '2025-02-01')])).toBe(true);
    expect(isCovered(w, [win('2025-01-01', '2025-01-03'), win('2025-01-04', '2025-01-05')])).toBe(false);
    expect(isCovered(w, [win('2025-01-02', '2025-01-05')])).toBe(false);
    expect(isCovered(w, [])).toBe(false);
  });
});

describe('backfill progress and output', () => {
  const event = (i: number, over: Partial<WindowEvent> = {}): WindowEvent => ({
    streamKey: 'scarf.events',
    window: win(`2025-01-0${i}`, `2025-01-0${i + 1}`),
    status: 'done',
    rows: 100,
    upserted: 90,
    attempts: 1,
    durationMs: 50,
    done: i,
    failed: 0,
    total: 4,
    rowsSoFar: 100 * i,
    ...over,
  });

  it('on a TTY: one bar with windows done/total, rows, rate and ETA', () => {
    let out = '';
    const tty = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          out += String(chunk);
          cb();
        },
      }),
      { isTTY: true, columns: 200 },
    );
    const bar = barProgress(tty);
    bar.start({ runId: 'r1', shard: '1/3', total: 4, done: 1 });
    bar.window(event(2));
    bar.window(event(3, { status: 'failed', failed: 1, done: 2, rowsSoFar: 1234 }));
    bar.stop();
    // eslint-disable-next-line no-control-regex -- strip the cursor movements of the redraws
    const text = out.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).toContain('backfill 1/3');
    expect(text).toMatch(/3\/4 windows \| 1,234 rows \| [\d.]+ windows\/min \| ETA \S+ \| 1 failed/);
  });

  it('elsewhere: one structured log line per window', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: 'info', base: undefined },
      { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const progress = logProgress(log);
    progress.start({ runId: 'r1', shard: '0/1', total: 4, done: 0 });
    progress.window(event(1));
    progress.window(event(2, { status: 'failed', done: 1, failed: 1, attempts: 3, error: 'boom' }));
    expect(
      lines.map((l) => [
        l.msg,
        l.level,
        l.run,
        l.shard,
        l.window,
        l.status,
        l.rows,
        l.attempts,
        l.done,
        l.total,
        l.err,
      ]),
    ).toEqual([
      ['backfill progress', 30, 'r1', '0/1', '2025-01-01..2025-01-02', 'done', 100, 1, 1, 4, undefined],
      ['backfill progress', 40, 'r1', '0/1', '2025-01-02..2025-01-03', 'failed', 100, 3, 1, 4, 'boom'],
    ]);
  });

  it('the summary names failed windows and says how to finish; status flags interrupted windows', () => {
    const text = formatBackfillSummary({
      runId: 'r1',
      shard: '0/2',
      status: 'partial',
      exitCode: EXIT.partial,
      total: 5,
      skipped: 1,
      committed: 3,
      failed: [{ streamKey: 'scarf.events', window: win('2025-01-03', '2025-01-04'), error: 'HTTP 400' }],
      left: 0,
      rows: 1200,
      upserted: 1100,
      requests: 4,
      durationMs: 2500,
      notBackfillable: [{ streamKey: 'scarf.company_rollup', reason: 'snapshot stream' }],
      streams: [],
    });
    expect(text).toContain('5 window(s) for this shard: 3 loaded now, 1 already done, 1 failed, 0 left');
    expect(text).toContain('FAILED scarf.events 2025-01-03..2025-01-04: HTTP 400');
    expect(text).toContain('skipped scarf.company_rollup: snapshot stream');
    expect(text).toContain('run the same command again');
    const status = formatStatus([
      {
        streamKey: 'scarf.events',
        range: win('2025-01-01', '2025-01-06'),
        windows: 5,
        done: 3,
        running: 0,
        interrupted: 1,
        failed: 0,
        missing: 1,
        rows: 12345,
      },
      {
        streamKey: 'scarf.aggregates',
        range: null,
        windows: 0,
        done: 0,
        running: 0,
        interrupted: 0,
        failed: 0,
        missing: 0,
        rows: 0,
      },
    ]);
    expect(status.split('\n')[1]?.split(/\s+/)).toEqual([
      'scarf.events',
      '2025-01-01..2025-01-06',
      '5',
      '3',
      '0',
      '1',
      '0',
      '1',
      '12,345',
    ]);
    expect(status).toContain('scarf.aggregates  (no backfill recorded)');
  });
});

describe('backfill command line (the real CLI)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const db = join(tmp.dir, 'w.duckdb');
  const config = writeConfig(
    tmp.dir,
    'c.yaml',
    `destination: { type: duckdb, path: ${db} }\nsources:\n${scarfSource({
      baseUrl: 'http://127.0.0.1:9',
      token: 't',
      extra: '    streams: [events, company_rollup]',
    })}\n`,
  );

  it('exits 2 naming the flag, before the destination is opened', async () => {
    const runs = await Promise.all([
      cli(['backfill', '--config', config, '--from', '2025-01-01']),
      cli(['backfill', '--config', config, '--from', '2025-01-01', '--to', '2025-02-01', '--shard', '2/2']),
      cli([
        'backfill',
        '--config',
        config,
        '--from',
        '2025-01-01',
        '--to',
        '2025-02-01',
        '--streams',
        'nope',
      ]),
      cli([
        'backfill',
        '--config',
        config,
        '--from',
        '2025-01-01',
        '--to',
        '2025-02-01',
        '--streams',
        'company_rollup',
      ]),
      cli(['backfill', 'status', '--config', config, '--redo']),
      cli(['backfill', 'status', '--config', config, '--from', '2025-01-01']),
    ]);
    const said = runs.map((r) => {
      expect(r.code, r.stderr).toBe(EXIT.config);
      expect(r.stderr).toContain('exportsync: invalid command line');
      return r.stderr.split('\n')[1];
    });
    expect(said).toEqual([
      '  - --to: required (YYYY-MM-DD)',
      '  - --shard: expected i/n with 0 <= i < n (e.g. 0/4, or $JOB_COMPLETION_INDEX/4), got "2/2"',
      '  - --streams: no configured stream matches nope',
      '  - --streams: scarf.company_rollup cannot be backfilled (snapshot stream: the source only serves its current state, there is no history to backfill)',
      '  - --redo: not an option of backfill status',
      '  - --to: required (YYYY-MM-DD)',
    ]);
    expect(existsSync(db)).toBe(false);
  });
});
