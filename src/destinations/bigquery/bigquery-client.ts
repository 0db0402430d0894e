/**
 * The SDK client and the two things every other module does with it: run a (multi-statement)
 * query job with named parameters, and retry what BigQuery says is transient. Results come back as
 * text: every SELECT this destination sends casts its columns to STRING, so no int64 ever passes
 * through a JS number and no timestamp through a Date.
 */
import { randomBytes } from 'node:crypto';
import type { BigQuery, BigQueryOptions } from '@google-cloud/bigquery';
import type { Logger } from '../../core/contracts.js';
import type { BigQueryDestinationConfig } from '../../config/bigquery.js';
import { classifyBigQueryError, isDuplicate, isRetryable } from './bigquery-errors.js';

export type ParamType = 'STRING' | 'INT64' | 'TIMESTAMP' | 'DATE' | 'BOOL';
export interface Param {
  type: ParamType;
  value: string | null;
}
export type Params = Record<string, Param>;
export type TextRow = Record<string, string | null>;

export interface RetryPolicy {
  attempts: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, minDelayMs: 1000, maxDelayMs: 30_000 };

export function stringParam(value: string | null): Param {
  return { type: 'STRING', value };
}

export function newJobId(kind: string): string {
  return `exportsync_${kind}_${Date.now().toString(36)}_${randomBytes(6).toString('hex')}`;
}

export class BqClient {
  private constructor(
    readonly bq: BigQuery,
    readonly project: string,
    readonly dataset: string,
    readonly location: string | undefined,
    private readonly retry: RetryPolicy,
    private readonly log: Logger,
  ) {}

  /**
   * `authClient` (tests, embedding) wins over `access_token`, which wins over `key_file`, which
   * wins over Application Default Credentials. The SDK is imported here, lazily.
   */
  static async create(opts: {
    config: BigQueryDestinationConfig;
    log: Logger;
    authClient?: unknown;
    retry?: RetryPolicy;
  }): Promise<BqClient> {
    const { BigQuery } = await import('@google-cloud/bigquery');
    const { config } = opts;
    const options: BigQueryOptions = {
      projectId: config.project,
      ...(config.location ? { location: config.location } : {}),
      ...(config.api_endpoint ? { apiEndpoint: config.api_endpoint.replace(/\/+$/, '') } : {}),
      ...(config.key_file ? { keyFilename: config.key_file } : {}),
      autoRetry: true,
      maxRetries: 2,
    };
    if (opts.authClient) {
      options.authClient = opts.authClient as BigQueryOptions['authClient'];
    } else if (config.access_token) {
      const { OAuth2Client } = await import('google-auth-library');
      const client = new OAuth2Client();
      client.setCredentials({ access_token: config.access_token });
      options.authClient = client;
    }
    return new BqClient(
      new BigQuery(options),
      config.project,
      config.dataset,
      config.location,
      opts.retry ?? DEFAULT_RETRY,
      opts.log,
    );
  }

  /**
   * Runs `sql` (one statement or a script) as a query job and returns the rows of its last
   * SELECT as text. Retried with backoff while BigQuery calls the failure transient; every
   * statement sent through here must therefore be safe to run twice (they are: upserts, deletes
   * of a window, conditional lock claims that also match their own owner).
   */
  async query(sql: string, params: Params, what: string): Promise<TextRow[]> {
    return this.withRetry(what, sql, async () => {
      const values: Record<string, string | null | { value: string }> = {};
      const types: Record<string, string> = {};
      for (const [name, p] of Object.entries(params)) {
        // the SDK takes TIMESTAMP and DATE values from a `.value` (its BigQueryTimestamp shape)
        values[name] =
          p.value !== null && (p.type === 'TIMESTAMP' || p.type === 'DATE') ? { value: p.value } : p.value;
        types[name] = p.type;
      }
      const jobId = newJobId('q');
      let job;
      try {
        [job] = await this.bq.createQueryJob({
          query: sql,
          params: values,
          types,
          jobId,
          ...(this.location ? { location: this.location } : {}),
        });
      } catch (err) {
        // the SDK re-sent an insert whose first reply was lost: the job exists, wait for it
        if (!isDuplicate(err)) throw err;
        job = this.bq.job(jobId, this.location ? { location: this.location } : {});
      }
      const [rows] = await job.getQueryResults({ timeoutMs: 60_000 });
      return rows as TextRow[];
    });
  }

  /** Runs `fn` until it succeeds, fails for good, or the attempts are spent; classifies the error. */
  async withRetry<T>(what: string, statement: string | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRetryable(err) || attempt >= this.retry.attempts) {
          throw classifyBigQueryError(err, what, statement);
        }
        const delay = Math.min(this.retry.maxDelayMs, this.retry.minDelayMs * 2 ** (attempt - 1));
        const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
        this.log.warn(
          { what, attempt, delayMs: jittered, err: classifyBigQueryError(err, what).message },
          'BigQuery call failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, jittered));
      }
    }
  }
}
