/**
 * Google Cloud Storage through @google-cloud/storage, credentials from Application Default
 * Credentials. `endpoint` becomes the SDK's `apiEndpoint` (an emulator or a private endpoint; the
 * SDK then sends no credentials, as it does for every custom endpoint).
 *
 * The content version is the object's `generation`: it changes exactly when the content is
 * replaced (GCS's own `etag` also changes on metadata edits, which would reload for nothing).
 * Objects stored with `Content-Encoding: gzip` are decompressed by the SDK.
 */
import { Storage, type File } from '@google-cloud/storage';
import type { FilesLocationConfig, ParsedLocation } from './config.js';
import { classifyStoreError } from './errors.js';
import { guardStream } from './stream.js';
import type { ObjectStore, StoredObject } from './types.js';

export function createGcsStore(config: FilesLocationConfig, loc: ParsedLocation): ObjectStore {
  const storage = new Storage(config.endpoint ? { apiEndpoint: config.endpoint } : {});
  const bucket = storage.bucket(loc.bucket);
  const location = `gs://${loc.bucket}/${loc.prefix}`;
  const uri = (key: string) => `gs://${loc.bucket}/${key}`;
  const ctx = (action: string, where: string) => ({
    kind: 'gcs' as const,
    where,
    bucket: loc.bucket,
    action,
  });

  /** Resolves once the response headers arrived, so a 403/404 surfaces here and not mid-body. */
  function started(file: File, options: { start?: number; end?: number; validation?: false } = {}) {
    const stream = file.createReadStream(options);
    return new Promise<NodeJS.ReadableStream>((resolve, reject) => {
      stream.once('response', () => resolve(stream));
      stream.once('error', reject);
      // the SDK sends the request when the stream is first read
      stream.once('readable', () => resolve(stream));
    });
  }

  return {
    kind: 'gcs',
    location,
    uri,
    async list(): Promise<StoredObject[]> {
      try {
        const [files] = await bucket.getFiles({ prefix: loc.prefix || undefined, autoPaginate: true });
        return files
          .filter((f) => !f.name.endsWith('/'))
          .map((f) => ({
            key: f.name,
            etag: String(f.metadata.generation ?? f.metadata.etag ?? ''),
            size: Number(f.metadata.size ?? 0),
            lastModified: new Date(String(f.metadata.updated ?? 0)),
            ...(f.metadata.contentEncoding ? { contentEncoding: String(f.metadata.contentEncoding) } : {}),
          }));
      } catch (err) {
        throw classifyStoreError(err, ctx('listing', location));
      }
    },
    async open(key: string) {
      try {
        const stream = await started(bucket.file(key));
        return guardStream(stream as AsyncIterable<Uint8Array>, (err) =>
          classifyStoreError(err, ctx('reading', uri(key))),
        );
      } catch (err) {
        throw classifyStoreError(err, ctx('reading', uri(key)));
      }
    },
    async readRange(key: string, start: number, end: number): Promise<Buffer> {
      const chunks: Buffer[] = [];
      try {
        const stream = await started(bucket.file(key), { start, end, validation: false });
        for await (const c of stream as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
      } catch (err) {
        throw classifyStoreError(err, ctx('reading', uri(key)));
      }
      return Buffer.concat(chunks);
    },
  };
}
