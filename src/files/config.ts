/**
 * The `files:` block of a source in files mode, shared by every connector that reads export files.
 * Nothing secret belongs here: S3 credentials come from the AWS default provider chain (env,
 * profile, web identity/IRSA, container or instance role), GCS from Application Default
 * Credentials. A credential field in this block would end up in ConfigMaps and Git.
 */
import { z } from 'zod';

export const FILE_URL_PATTERN = /^(s3|gs):\/\/[^/\s]+(\/\S*)?$|^file:\/\/\/\S*$/;

export const filesLocationFields = {
  /** Where the exports are: `s3://bucket/prefix`, `gs://bucket/prefix` or `file:///absolute/dir`. */
  url: z
    .string()
    .regex(FILE_URL_PATTERN, 'must be s3://bucket[/prefix], gs://bucket[/prefix] or file:///absolute/dir'),
  /** S3 region (default: the AWS chain's, e.g. AWS_REGION). */
  region: z.string().min(1).optional(),
  /**
   * S3: endpoint of an S3-compatible server (MinIO, Ceph, R2), path-style addressing unless
   * `force_path_style: false`. GCS: the JSON API endpoint (`apiEndpoint`), e.g. an emulator.
   */
  endpoint: z.url().optional(),
  /** S3 only: path-style URLs (`endpoint/bucket/key`). Default: true with `endpoint`, else false. */
  force_path_style: z.boolean().optional(),
};

export const filesLocationSchema = z.object(filesLocationFields).strict();

export type FilesLocationConfig = z.infer<typeof filesLocationSchema>;

export interface ParsedLocation {
  kind: 's3' | 'gcs' | 'file';
  /** Bucket (s3, gcs) or absolute directory (file). */
  bucket: string;
  /** Key prefix, '' for the whole bucket; always ends with '/' when not empty (file: ''). */
  prefix: string;
}

/** Splits a validated `files.url`. A prefix is a folder: `s3://b/exports` lists `exports/…`. */
export function parseLocation(url: string): ParsedLocation {
  if (url.startsWith('file://')) {
    const dir = decodeURIComponent(url.slice('file://'.length)).replace(/\/+$/, '') || '/';
    return { kind: 'file', bucket: dir, prefix: '' };
  }
  const match = /^(s3|gs):\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`not an object-store URL: ${url}`);
  const raw = (match[3] ?? '').replace(/^\/+/, '');
  return {
    kind: match[1] === 's3' ? 's3' : 'gcs',
    bucket: match[2]!,
    prefix: raw === '' || raw.endsWith('/') ? raw : `${raw}/`,
  };
}
