/**
 * Object stores for file streams: `createObjectStore(files)` picks the backend from the URL scheme.
 * SDKs load only for the scheme in use, so a local-directory user never loads the AWS SDK.
 */
import { parseLocation, type FilesLocationConfig } from './config.js';
import type { ObjectStore } from './types.js';

export type { ObjectStore, StoredObject } from './types.js';
export {
  filesLocationFields,
  filesLocationSchema,
  parseLocation,
  type FilesLocationConfig,
} from './config.js';
export { openObject } from './stream.js';

export async function createObjectStore(config: FilesLocationConfig): Promise<ObjectStore> {
  const loc = parseLocation(config.url);
  switch (loc.kind) {
    case 's3':
      return (await import('./s3.js')).createS3Store(config, loc);
    case 'gcs':
      return (await import('./gcs.js')).createGcsStore(config, loc);
    case 'file':
      return (await import('./local.js')).createLocalStore(loc);
  }
}
