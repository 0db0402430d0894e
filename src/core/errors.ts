/**
 * One error taxonomy for the whole tool. Errors are classified once, at the boundary where a
 * foreign error enters (HTTP response, driver exception, config parse), and everything above acts
 * on the class: `retryable` decides retries, `exitCode` decides how the process ends.
 *
 * Messages must never contain secrets: tokens, passwords and connection-string credentials are
 * stripped with `redactSecrets` before an error is built from foreign text.
 */
export abstract class ExportSyncError extends Error {
  abstract readonly kind: string;
  /** True when the same operation may succeed if tried again (network, 429, 5xx, deadlock). */
  readonly retryable: boolean;

  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** Invalid or missing configuration. The message names the field path. Exit code 2. */
export class ConfigError extends ExportSyncError {
  readonly kind = 'config';
  constructor(
    message: string,
    readonly issues: string[] = [message],
  ) {
    super(message);
  }
}

/** A source API failed: HTTP status, network, or a response we cannot read. */
export class SourceError extends ExportSyncError {
  readonly kind = 'source';
  constructor(
    message: string,
    readonly details: {
      status?: number;
      code?: string;
      url?: string;
      retryable?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { retryable: details.retryable ?? false, cause: details.cause });
  }
}

/**
 * `SourceError.details.code` a connector sets when the API refused a date range as too long
 * (Scarf's `range-too-long`): the engine then splits the window in two and fetches each half.
 */
export const RANGE_TOO_LONG = 'range-too-long';

export function isRangeTooLong(err: unknown): boolean {
  return err instanceof SourceError && err.details.code === RANGE_TOO_LONG;
}

/** The source answered with data we cannot load safely (bad CSV structure, missing key). Not retryable. */
export class DataError extends ExportSyncError {
  readonly kind = 'data';
  constructor(
    message: string,
    readonly details: { stream?: string; line?: number; field?: string } = {},
  ) {
    super(message);
  }
}

/** The warehouse failed. `code` is the SQLSTATE or API reason. */
export class DestinationError extends ExportSyncError {
  readonly kind = 'destination';
  constructor(
    message: string,
    readonly details: { code?: string; retryable?: boolean; cause?: unknown; statement?: string } = {},
  ) {
    super(message, { retryable: details.retryable ?? false, cause: details.cause });
  }
}

/** Another run holds the lock on a stream. Exit code 4 when it is the only failure. */
export class LockedError extends ExportSyncError {
  readonly kind = 'locked';
}

/** The run was stopped by a signal after committing what it had. */
export class InterruptedError extends ExportSyncError {
  readonly kind = 'interrupted';
}

export const EXIT = {
  ok: 0,
  failed: 1,
  config: 2,
  /** Some streams failed, others succeeded; the summary names the failed ones. */
  partial: 3,
  /** Another run holds the lock. */
  locked: 4,
  /** SIGTERM/SIGINT: stopped after the current window committed. */
  interrupted: 130,
} as const;

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // user:password@ in URLs
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi, '$1***@'],
  // Authorization headers and bearer tokens
  [/(authorization["']?\s*[:=]\s*["']?)(bearer\s+)?[^\s"',}]+/gi, '$1$2***'],
  [/\bbearer\s+[a-z0-9._~+/=-]{6,}/gi, 'Bearer ***'],
  // key=value forms in query strings or messages
  [
    /\b(token|password|passwd|api_key|apikey|secret|private_key)(["']?\s*[=:]\s*["']?)[^\s&"',}]+/gi,
    '$1$2***',
  ],
];

/** Credentials this process has sent (see `rememberSecret`), longest first when applied. */
const knownSecrets = new Set<string>();

/**
 * Registers a credential by value (e.g. an Authorization header the HTTP client sends), so that
 * `redactSecrets` removes it wherever it turns up: a server quoting the token back in an error
 * body ("token abc123 is not valid") matches none of the patterns below. For a `Scheme value`
 * header the bare value is registered too. Values under 6 characters are ignored (they would
 * blank out ordinary words).
 */
export function rememberSecret(value: string): void {
  const v = value.trim();
  for (const s of [v, /^\S+\s+(\S+)$/.exec(v)?.[1]]) if (s && s.length >= 6) knownSecrets.add(s);
}

/** Removes credentials from free text (URLs with passwords, tokens, Authorization headers). */
export function redactSecrets(text: string): string {
  let out = text;
  if (knownSecrets.size > 0) {
    for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length))
      if (out.includes(secret)) out = out.split(secret).join('***');
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return redactSecrets(err.message);
  return redactSecrets(String(err));
}
