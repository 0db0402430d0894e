/**
 * readJsonArray with a named wrapper (the contract's `wrapper` point): the named member is read
 * whatever arrays come before it; without a name the first array is read (the old behaviour).
 */
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/core/errors.js';
import type { RecordBatch } from '../../src/core/contracts.js';
import { readJsonArray } from '../../src/http/json.js';
import { chunked, collect } from './helpers.js';

const read = (text: string, wrapper?: string, size = 1 << 16): Promise<RecordBatch[]> =>
  collect(
    readJsonArray(chunked(text, size), {
      batchRows: 2,
      stream: 'instance_events',
      ...(wrapper === undefined ? {} : { wrapper }),
    }),
  );

const ids = (batches: RecordBatch[]) =>
  batches.flatMap((b) => b.records.map((r) => r[b.fields.indexOf('id')]));

async function dataError(p: Promise<unknown>): Promise<DataError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}

const EVENTS = '[{"id":"1","tags":["x"]},{"id":"2"},{"id":"3","nested":{"events":[{"id":"no"}]}}]';

describe('readJsonArray with a wrapper name', () => {
  it('reads the named member even when another array comes first, whatever the chunking', async () => {
    const body = `{"tags":[{"id":"t1"},"plain"],"meta":{"events":[1]},"events":${EVENTS},"after":[]}`;
    for (const size of [1, 2, 3, 7, 1 << 16]) {
      const batches = await read(body, 'events', size);
      expect(ids(batches), `chunk size ${size}`).toEqual(['1', '2', '3']);
      expect(batches.map((b) => b.records.length)).toEqual([2, 1]);
    }
  });

  it('without a name reads the first array (so that body is misread or refused)', async () => {
    const body = `{"tags":[{"id":"t1"}],"events":${EVENTS}}`;
    expect((await dataError(read(body))).message).toContain('more than one array');
    expect(ids(await read(`{"tags":[{"id":"t1"}]}`))).toEqual(['t1']);
  });

  it('reads a bare array and a member name written with escapes', async () => {
    expect(ids(await read(EVENTS, 'events'))).toEqual(['1', '2', '3']);
    const escaped = `{"ta\\"gs":[{"id":"t"}],"\\u0065vents":${EVENTS}}`;
    for (const size of [1, 4, 1 << 16])
      expect(ids(await read(escaped, 'events', size))).toEqual(['1', '2', '3']);
    expect(ids(await read('{"events":[]}', 'events'))).toEqual([]);
  });

  it('a body without the member, with it not an array, or twice, is a DataError naming it', async () => {
    const missing = await dataError(read(`{"tags":[{"id":"t"}],"data":${EVENTS}}`, 'events'));
    expect(missing.message).toBe(
      "stream instance_events: the top-level object has no member 'events' holding the records (members: 'tags', 'data')",
    );
    expect((await dataError(read('{"events":{"id":"1"}}', 'events'))).message).toContain(
      "member 'events' of the top-level object is not an array of records",
    );
    expect((await dataError(read('{"events":null,"tags":[]}', 'events'))).message).toContain(
      "member 'events' of the top-level object is not an array",
    );
    expect((await dataError(read(`{"events":${EVENTS},"events":[]}`, 'events'))).message).toContain(
      "holds member 'events' twice",
    );
    expect((await dataError(read('{"tags":[],"events":[{"id":"1"},', 'events'))).message).toContain(
      'ends early (after 1 complete elements)',
    );
  });
});
