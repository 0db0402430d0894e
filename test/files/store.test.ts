/**
 * The object-store abstraction against real servers: s3rver (S3 API), the GCS JSON-API stand-in
 * through @google-cloud/storage's apiEndpoint, and a local directory. The same expectations hold
 * for all three: listing under a prefix (across pages), a content version that changes with the
 * content, streamed bodies, gzip by name or by Content-Encoding, byte ranges, classified errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SourceError } from '../../src/core/errors.js';
import { createObjectStore, openObject, type FilesLocationConfig } from '../../src/files/index.js';
import { startGcsStandIn, type GcsStandIn } from './gcs-standin.js';
import { gzip, startS3, tempDir, type S3Server } from './helpers.js';

interface Fixture {
  config(prefix: string, bucket?: string): FilesLocationConfig;
  put(key: string, body: string | Buffer, contentEncoding?: string): Promise<void>;
}

let s3: S3Server;
let gcs: GcsStandIn;
const local = tempDir();

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket('exports');
  gcs = await startGcsStandIn(2);
  gcs.createBucket('exports');
});
afterAll(async () => {
  await s3?.close();
  await gcs?.close();
  local.cleanup();
});

const fixtures: Array<[string, () => Fixture]> = [
  [
    's3',
    () => ({
      config: (prefix, bucket = 'exports') => ({ url: `s3://${bucket}/${prefix}`, endpoint: s3.endpoint }),
      put: (key, body, enc) => s3.put('exports', key, body, enc),
    }),
  ],
  [
    'gcs',
    () => ({
      config: (prefix, bucket = 'exports') => ({ url: `gs://${bucket}/${prefix}`, endpoint: gcs.endpoint }),
      put: async (key, body, enc) => gcs.put('exports', key, body, enc),
    }),
  ],
  [
    'file',
    () => ({
      config: (prefix, bucket) => ({ url: `file://${join(local.dir, bucket ?? 'exports', prefix)}` }),
      put: async (key, body) => {
        const path = join(local.dir, 'exports', key);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, body);
      },
    }),
  ],
];

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

describe.each(fixtures)('%s', (kind, make) => {
  const f = make();
  const p = `${kind}-t/`;

  test('lists every object under the prefix (all pages), with size and a content version', async () => {
    await f.put(`${p}a.csv`, 'id\n1\n');
    await f.put(`${p}b.csv`, 'id\n1\n2\n');
    await f.put(`${p}sub/c.csv`, 'id\n');
    await f.put(`other-${kind}/x.csv`, 'id\n');
    const store = await createObjectStore(f.config(p));
    const listing = await store.list();
    const rel = listing.map((o) => (kind === 'file' ? o.key : o.key.slice(p.length))).sort();
    expect(rel).toEqual(['a.csv', 'b.csv', 'sub/c.csv']);
    const b = listing.find((o) => o.key.endsWith('b.csv'))!;
    expect(b.size).toBe(7);
    expect(b.etag).not.toBe('');
  });

  test('the content version changes when the content is replaced', async () => {
    await f.put(`${p}v.csv`, 'id\n1\n');
    const store = await createObjectStore(f.config(p));
    const before = (await store.list()).find((o) => o.key.endsWith('v.csv'))!.etag;
    await new Promise((r) => setTimeout(r, 20));
    await f.put(`${p}v.csv`, 'id\n2\n');
    const after = (await store.list()).find((o) => o.key.endsWith('v.csv'))!.etag;
    expect(after).not.toBe(before);
  });

  test('streams a body, gunzips .gz objects and gzip content, reads byte ranges', async () => {
    const big = `id,v\n${Array.from({ length: 20000 }, (_, i) => `${i},${'x'.repeat(20)}`).join('\n')}\n`;
    await f.put(`${p}big.csv`, big);
    await f.put(`${p}z.csv.gz`, gzip('id\n7\n'));
    await f.put(`${p}enc.csv`, gzip('id\n8\n'), 'gzip');
    const store = await createObjectStore(f.config(p));
    const key = (name: string) => (kind === 'file' ? name : `${p}${name}`);
    expect(await text(openObject(store, key('big.csv')))).toBe(big);
    expect(await text(openObject(store, key('z.csv.gz')))).toBe('id\n7\n');
    expect(await text(openObject(store, key('enc.csv')))).toBe('id\n8\n');
    expect((await store.readRange(key('big.csv'), 0, 4)).toString()).toBe('id,v\n');
    expect((await store.readRange(key('big.csv'), big.length - 3, big.length + 50)).toString()).toBe(
      big.slice(-3),
    );
  });

  test('a half-written gzip object is a DataError naming it', async () => {
    const whole = gzip(`id\n${'1\n'.repeat(5000)}`);
    await f.put(`${p}cut.csv.gz`, whole.subarray(0, whole.length - 40));
    const store = await createObjectStore(f.config(p));
    const key = kind === 'file' ? 'cut.csv.gz' : `${p}cut.csv.gz`;
    await expect(text(openObject(store, key))).rejects.toThrow(/cut\.csv\.gz: the gzip data is cut off/);
  });

  test('a bucket or directory that does not exist: a clear, non-retryable error', async () => {
    const store = await createObjectStore(f.config('x/', 'no-such-bucket'));
    const err = await store.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as Error).message).toMatch(
      kind === 'file' ? /no such file or directory/ : /bucket 'no-such-bucket' does not exist/,
    );
  });

  test('an object deleted since the listing: a clear error naming it', async () => {
    const store = await createObjectStore(f.config(p));
    const key = kind === 'file' ? 'gone.csv' : `${p}gone.csv`;
    await expect(text(openObject(store, key))).rejects.toThrow(/gone\.csv/);
  });
});

test('s3: credentials the server refuses are "access denied" naming bucket and prefix', async () => {
  // s3rver checks the access key id (InvalidAccessKeyId, 403), not the signature
  const saved = process.env.AWS_ACCESS_KEY_ID;
  process.env.AWS_ACCESS_KEY_ID = 'NOT-A-KEY';
  try {
    const store = await createObjectStore({ url: 's3://exports/scarf/', endpoint: s3.endpoint });
    const err = (await store.list().catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toContain('listing s3://exports/scarf/: access denied');
    expect(err.message).toContain('s3:ListBucket');
    expect(err.message).not.toContain('S3RVER');
    expect(err.retryable).toBe(false);
  } finally {
    process.env.AWS_ACCESS_KEY_ID = saved;
  }
});

test('gcs: a 403 is "access denied" naming bucket and prefix', async () => {
  gcs.createBucket('locked');
  gcs.denied.add('locked');
  const store = await createObjectStore({ url: 'gs://locked/scarf', endpoint: gcs.endpoint });
  const err = (await store.list().catch((e: unknown) => e)) as SourceError;
  expect(err.message).toContain('listing gs://locked/scarf/: access denied');
  expect(err.retryable).toBe(false);
});

test('s3: a server that is down is a retryable error', async () => {
  const store = await createObjectStore({ url: 's3://exports/', endpoint: 'http://127.0.0.1:9' });
  const err = (await store.list().catch((e: unknown) => e)) as SourceError;
  expect(err).toBeInstanceOf(SourceError);
  expect(err.retryable).toBe(true);
});
