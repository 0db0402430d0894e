/**
 * Publishing a run's metrics (docs/metrics.md): a textfile for node_exporter's textfile collector
 * and/or a push to a Pushgateway, as `metrics:` in the config says. Called once a run's outcome is
 * recorded. Metrics are a report, not part of the sync: any failure here (unreadable run log,
 * unwritable file, unreachable Pushgateway) is a warning, never a failed run — the rows and marks
 * are already committed, and failing the job would make the scheduler retry a sync that worked.
 */
import type { Destination, Logger, RunRecord } from '../core/contracts.js';
import { errorMessage } from '../core/errors.js';
import type { MetricsSettings } from '../config/schema.js';
import { formatExposition, parseExposition } from './prometheus.js';
import { pushMetrics, pushTarget } from './pushgateway.js';
import { runMetrics, type SourceHttpFigures } from './run-metrics.js';
import { readTextfile, writeTextfileAtomically } from './textfile.js';

export { countingHttpClient, sourceRetries, type CountingHttpClient } from './counting-http.js';
export type { SourceHttpFigures } from './run-metrics.js';

/** Runs read from `_exportsync_runs` to sum the counters: in effect all of them. */
export const RUN_HISTORY_LIMIT = 1_000_000;

/**
 * The `metrics:` section of a config, if any. The loader's resolved Config may not carry the key
 * yet (src/config/load.ts builds it field by field), so this reads it defensively.
 */
export function metricsSettingsOf(config: object): MetricsSettings | undefined {
  const metrics = (config as { metrics?: MetricsSettings }).metrics;
  return metrics && (metrics.textfile || metrics.pushgateway_url) ? metrics : undefined;
}

export interface PublishOptions {
  settings: MetricsSettings;
  run: RunRecord;
  destination: Pick<Destination, 'listRuns'>;
  sources: SourceHttpFigures[];
  log: Logger;
}

/** Returns the exposition text it published (for tests and callers that log it). */
export async function publishRunMetrics(o: PublishOptions): Promise<string> {
  const log = o.log.child({ component: 'metrics' });
  let history: RunRecord[] | null = null;
  try {
    history = await o.destination.listRuns(RUN_HISTORY_LIMIT);
  } catch (err) {
    log.warn(
      { err: errorMessage(err) },
      'cannot read the run log; metrics continue from the previous textfile',
    );
  }
  const previousText = !history && o.settings.textfile ? await readTextfile(o.settings.textfile) : null;
  const text = formatExposition(
    runMetrics({
      run: o.run,
      history,
      previous: previousText ? parseExposition(previousText) : [],
      sources: o.sources,
    }),
  );
  if (o.settings.textfile) {
    try {
      await writeTextfileAtomically(o.settings.textfile, text);
      log.debug({ path: o.settings.textfile }, 'metrics textfile written');
    } catch (err) {
      log.warn({ path: o.settings.textfile, err: errorMessage(err) }, 'could not write the metrics textfile');
    }
  }
  if (o.settings.pushgateway_url) {
    try {
      await pushMetrics(o.settings.pushgateway_url, text);
      log.debug({ target: pushTarget(o.settings.pushgateway_url).href }, 'metrics pushed');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'could not push metrics to the Pushgateway');
    }
  }
  return text;
}
