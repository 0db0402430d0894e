/**
 * Planning file units against a real local directory: parts load together, a changed export is
 * loaded with all its parts, exports inside a replaced window are loaded again after it (and marked
 * `reload` in the earlier commit), the newest snapshot is loaded last, and an unreadable export is
 * skipped with a warning without stopping the others.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { StreamState } from '../../src/core/contracts.js';
import { addDays, parseIsoDate } from '../../src/core/time.js';
import { createObjectStore, type ObjectStore } from '../../src/files/index.js';
import { planFileUnits, RELOAD_ETAG, unitKeys, type NameVerdict } from '../../src/files/units.js';
import { capturingLogger, messages, tempDir } from './helpers.js';

const root = tempDir('exportsync-units-');
afterAll(() => root.cleanup());
let n = 0;

/** Names `<start>_<end>[_pN].csv` → one export per start/end. */
function classify(name: string): NameVerdict {
  const m = /^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})(?:_p(\d))?\.csv$/.exec(name);
  if (!m) return { kind: 'skip', level: 'warn', reason: 'bad name' };
  return {
    kind: 'export',
    group: `${m[1]}_${m[2]}`,
    window: { from: parseIsoDate(m[1]!), to: addDays(parseIsoDate(m[2]!), 1) },
    part: Number(m[3] ?? 0),
    format: 'csv',
  };
}

function folder(files: Record<string, string>): string {
  const dir = join(root.dir, `d${++n}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function plan(store: ObjectStore, state: StreamState | null, newestLast = false) {
  const { log, lines } = capturingLogger();
  const units = await planFileUnits({ store, state, classify, log, now: new Date(), newestLast });
  return { units, lines };
}

/** The state after committing every unit, as the engine merges it. */
function commitAll(state: StreamState | null, units: Awaited<ReturnType<typeof plan>>['units']): StreamState {
  let objects = state?.objects ?? {};
  for (const u of units) objects = { ...objects, ...u.objects };
  return { version: 1, highWaterMark: null, schemaVersion: 1, updatedAt: '', objects };
}

const touch = (path: string, text: string) => {
  writeFileSync(path, text);
  const t = new Date(Date.now() + 5000);
  utimesSync(path, t, t);
};

test('a part arriving later reloads its whole export; unchanged exports are not planned', async () => {
  const dir = folder({ '2026-01-01_2026-01-01_p1.csv': 'id\n1\n', '2026-01-02_2026-01-02.csv': 'id\n2\n' });
  const store = await createObjectStore({ url: `file://${dir}` });
  const first = await plan(store, null);
  expect(first.units.map((u) => u.label)).toEqual(['2026-01-01_2026-01-01', '2026-01-02_2026-01-02']);
  const state = commitAll(null, first.units);
  expect((await plan(store, state)).units).toEqual([]);
  writeFileSync(join(dir, '2026-01-01_2026-01-01_p2.csv'), 'id\n3\n');
  const second = await plan(store, state);
  expect(second.units).toHaveLength(1);
  expect(unitKeys(second.units[0]!)).toEqual([
    '2026-01-01_2026-01-01_p1.csv',
    '2026-01-01_2026-01-01_p2.csv',
  ]);
});

test('a changed wide export reloads the exports starting inside it after it, marked reload until they commit', async () => {
  const dir = folder({
    '2026-01-01_2026-01-07.csv': 'id\n1\n',
    '2026-01-03_2026-01-03.csv': 'id\n2\n',
    '2026-01-09_2026-01-09.csv': 'id\n3\n',
  });
  const store = await createObjectStore({ url: `file://${dir}` });
  const state = commitAll(null, (await plan(store, null)).units);
  touch(join(dir, '2026-01-01_2026-01-07.csv'), 'id\n1\n4\n');
  const { units, lines } = await plan(store, state);
  expect(units.map((u) => u.label)).toEqual(['2026-01-01_2026-01-07', '2026-01-03_2026-01-03']);
  expect(units[0]!.objects['2026-01-03_2026-01-03.csv']?.etag).toBe(RELOAD_ETAG);
  expect(unitKeys(units[0]!)).toEqual(['2026-01-01_2026-01-07.csv']);
  expect(messages(lines, 30).join('\n')).toMatch(/loading an export again/);
  // a run stopped after the first commit: the daily export is still planned next time
  const stopped = commitAll(state, units.slice(0, 1));
  expect((await plan(store, stopped)).units.map((u) => u.label)).toEqual(['2026-01-03_2026-01-03']);
});

test('snapshots: after an older one is reloaded, the newest is loaded last', async () => {
  const dir = folder({ '2026-01-01_2026-01-01.csv': 'id\n1\n', '2026-01-02_2026-01-02.csv': 'id\n2\n' });
  const store = await createObjectStore({ url: `file://${dir}` });
  const state = commitAll(null, (await plan(store, null, true)).units);
  touch(join(dir, '2026-01-01_2026-01-01.csv'), 'id\n5\n');
  const { units } = await plan(store, state, true);
  expect(units.map((u) => u.label)).toEqual(['2026-01-01_2026-01-01', '2026-01-02_2026-01-02']);
  expect(units[0]!.objects['2026-01-02_2026-01-02.csv']?.etag).toBe(RELOAD_ETAG);
});

test('an export that cannot be read is skipped with a warning; the others are planned', async () => {
  const dir = folder({ '2026-01-01_2026-01-01.csv': 'id\n1\n', '2026-01-02_2026-01-02.csv': 'id\n2\n' });
  const real = await createObjectStore({ url: `file://${dir}` });
  const store: ObjectStore = {
    ...real,
    uri: real.uri,
    list: () => real.list(),
    open: (k) => real.open(k),
    readRange: async (key, s, e) => {
      if (key.startsWith('2026-01-01')) throw new Error('reading file:///x: access denied');
      return real.readRange(key, s, e);
    },
  };
  const { units, lines } = await plan(store, null);
  expect(units.map((u) => u.label)).toEqual(['2026-01-02_2026-01-02']);
  expect(messages(lines, 40).join('\n')).toMatch(
    /export skipped this run: reading file:\/\/\/x: access denied/,
  );
});
