/**
 * Object bodies as byte streams: errors raised while a body streams (a reset midway) are
 * classified like the call that opened it, and gzip is undone where the bytes are gzip.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DataError } from '../core/errors.js';
import type { ObjectStore } from './types.js';

/** Iterates `body`, turning any error it throws into `classify(err)`. */
export async function* guardStream(
  body: AsyncIterable<Uint8Array>,
  classify: (err: unknown) => Error,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (err) {
    throw classify(err);
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * The object's content, streamed. Gunzipped when its first bytes are the gzip magic (0x1f 0x8b):
 * that covers `.gz` names and `Content-Encoding: gzip`, and never gunzips twice where an SDK has
 * already decoded (the GCS SDK decompresses `Content-Encoding: gzip` itself). CSV and JSON text
 * never starts with 0x1f. A gzip stream that ends early (a half-written `.gz`) is a DataError
 * naming the object.
 */
export async function* openObject(store: ObjectStore, key: string): AsyncGenerator<Uint8Array> {
  const raw = (await store.open(key))[Symbol.asyncIterator]();
  const first = await raw.next();
  if (first.done) return;
  const head = first.value;
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => raw,
  };
  if (!(head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1])) {
    yield head;
    yield* rest;
    return;
  }
  async function* whole(): AsyncGenerator<Uint8Array> {
    yield head;
    yield* rest;
  }
  // pipeline, not pipe: an error of the source (a reset midway) must reach the reader
  const gunzip = pipeline(Readable.from(whole(), { objectMode: false }), createGunzip(), () => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('Z_') || /unexpected end of file|incorrect header/i.test(String(err))) {
      throw new DataError(
        `${store.uri(key)}: the gzip data is cut off or corrupt (${(err as Error).message}); a half-written object? It is loaded again once complete`,
      );
    }
    throw err;
  }
}
