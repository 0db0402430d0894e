/**
 * S3 (and S3-compatible servers) through @aws-sdk/client-s3. Credentials and region come from the
 * SDK's default provider chains; config only says where (bucket, prefix, endpoint, region).
 * The SDK retries throttling and 5xx itself (3 attempts); what still fails is classified once here.
 */
import { GetObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { FilesLocationConfig, ParsedLocation } from './config.js';
import { classifyStoreError } from './errors.js';
import type { ObjectStore, StoredObject } from './types.js';
import { guardStream } from './stream.js';

export function createS3Store(config: FilesLocationConfig, loc: ParsedLocation): ObjectStore {
  const client = new S3Client({
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.force_path_style ?? config.endpoint !== undefined,
  });
  const location = `s3://${loc.bucket}/${loc.prefix}`;
  const uri = (key: string) => `s3://${loc.bucket}/${key}`;
  const ctx = (action: string, where: string) => ({ kind: 's3' as const, where, bucket: loc.bucket, action });

  async function get(key: string, range?: string) {
    try {
      const out = await client.send(
        new GetObjectCommand({ Bucket: loc.bucket, Key: key, ...(range ? { Range: range } : {}) }),
      );
      if (!out.Body) throw new Error('GetObject returned no body');
      return out.Body as unknown as AsyncIterable<Uint8Array>;
    } catch (err) {
      throw classifyStoreError(err, ctx('reading', uri(key)));
    }
  }

  return {
    kind: 's3',
    location,
    uri,
    async list(): Promise<StoredObject[]> {
      const out: StoredObject[] = [];
      try {
        const pages = paginateListObjectsV2(
          { client },
          { Bucket: loc.bucket, Prefix: loc.prefix || undefined },
        );
        for await (const page of pages) {
          for (const o of page.Contents ?? []) {
            if (!o.Key || o.Key.endsWith('/')) continue;
            out.push({
              key: o.Key,
              etag: (o.ETag ?? '').replace(/"/g, ''),
              size: Number(o.Size ?? 0),
              lastModified: o.LastModified ?? new Date(0),
            });
          }
        }
      } catch (err) {
        throw classifyStoreError(err, ctx('listing', location));
      }
      return out;
    },
    async open(key: string) {
      return guardStream(await get(key), (err) => classifyStoreError(err, ctx('reading', uri(key))));
    },
    async readRange(key: string, start: number, end: number): Promise<Buffer> {
      const body = await get(key, `bytes=${start}-${end}`);
      const chunks: Buffer[] = [];
      try {
        for await (const c of body) chunks.push(Buffer.from(c));
      } catch (err) {
        throw classifyStoreError(err, ctx('reading', uri(key)));
      }
      return Buffer.concat(chunks);
    },
  };
}
