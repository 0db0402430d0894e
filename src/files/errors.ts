/**
 * Object-store errors classified once, at the SDK boundary, into SourceError: the message names
 * the bucket and prefix (or object) and says what to fix; `retryable` is true only for what a
 * second attempt can cure (network, throttling, 5xx). Getting `retryable` wrong either retries a
 * permission error window after window or fails a run on a dropped connection.
 */
import { SourceError, errorMessage } from '../core/errors.js';

export interface StoreErrorContext {
  kind: 's3' | 'gcs' | 'file';
  /** `s3://bucket/prefix` or the object's URI. */
  where: string;
  bucket: string;
  /** What was being done, e.g. 'listing', 'reading'. */
  action: string;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const ACCESS_NAMES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'AllAccessDisabled',
  'AccountProblem',
]);

const THROTTLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeTooSkewed',
]);

interface Foreign {
  name?: string;
  code?: string | number;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

function statusOf(e: Foreign): number | undefined {
  if (typeof e.$metadata?.httpStatusCode === 'number') return e.$metadata.httpStatusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

const CREDENTIAL_HINT: Record<StoreErrorContext['kind'], string> = {
  s3: 'credentials come from the AWS default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity/IRSA, instance role); they need s3:ListBucket on the bucket and s3:GetObject on the prefix',
  gcs: 'credentials come from Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, workload identity); they need storage.objects.list and storage.objects.get (roles/storage.objectViewer)',
  file: 'the exportsync process needs read permission on the directory and its files',
};

/** The classified error for anything an object-store call threw. Never includes credentials. */
export function classifyStoreError(err: unknown, ctx: StoreErrorContext): SourceError {
  if (err instanceof SourceError) return err;
  const e = (err ?? {}) as Foreign;
  const name = String(e.name ?? e.Code ?? '');
  const code = typeof e.code === 'string' ? e.code : '';
  const status = statusOf(e);
  const detail = errorMessage(err).slice(0, 300);
  const base = { cause: err, url: ctx.where };

  if (ctx.kind === 'file') {
    if (code === 'ENOENT') {
      return new SourceError(`${ctx.action} ${ctx.where}: no such file or directory (check files.url)`, {
        ...base,
        code: 'not-found',
      });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new SourceError(`${ctx.action} ${ctx.where}: permission denied; ${CREDENTIAL_HINT.file}`, {
        ...base,
        code: 'access-denied',
      });
    }
    return new SourceError(`${ctx.action} ${ctx.where}: ${detail}`, { ...base, retryable: code === 'EIO' });
  }

  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(detail)) {
    return new SourceError(`${ctx.action} ${ctx.where}: no AWS credentials found; ${CREDENTIAL_HINT.s3}`, {
      ...base,
      code: 'no-credentials',
    });
  }
  if (/region is missing/i.test(detail)) {
    return new SourceError(`${ctx.action} ${ctx.where}: no AWS region; set files.region or AWS_REGION`, {
      ...base,
      code: 'no-region',
    });
  }
  if (/could not load the default credentials|unable to detect a project id/i.test(detail)) {
    return new SourceError(
      `${ctx.action} ${ctx.where}: no Google credentials found; ${CREDENTIAL_HINT.gcs}`,
      {
        ...base,
        code: 'no-credentials',
      },
    );
  }
  if (ACCESS_NAMES.has(name) || status === 403 || status === 401) {
    return new SourceError(
      `${ctx.action} ${ctx.where}: access denied (${name || status}); ${CREDENTIAL_HINT[ctx.kind]}`,
      { ...base, status, code: 'access-denied' },
    );
  }
  if (name === 'NoSuchBucket' || (ctx.action === 'listing' && status === 404)) {
    return new SourceError(
      `${ctx.action} ${ctx.where}: bucket '${ctx.bucket}' does not exist (check files.url)`,
      {
        ...base,
        status,
        code: 'no-such-bucket',
      },
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new SourceError(
      `${ctx.action} ${ctx.where}: the object is gone (deleted or replaced since it was listed); the next run lists again`,
      { ...base, status, code: 'no-such-key', retryable: false },
    );
  }
  const network = NETWORK_CODES.has(code) || /socket hang up|network|timed? ?out|aborted/i.test(detail);
  const transient =
    network ||
    THROTTLE_NAMES.has(name) ||
    status === 429 ||
    status === 408 ||
    (status !== undefined && status >= 500);
  return new SourceError(`${ctx.action} ${ctx.where}: ${name ? `${name}: ` : ''}${detail}`, {
    ...base,
    status,
    retryable: transient,
  });
}
