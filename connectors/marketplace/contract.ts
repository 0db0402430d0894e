/**
 * What each marketplace dataset expects of the export API. The HTTP API is OUR design (no public
 * API is documented, source-apis.md §3): only the dataset names, their fields, the 24-month range
 * and the CSV/JSON choice come from the seed (/work/shared/seeds/002_…); endpoint, parameters,
 * auth, types and date semantics are assumptions to confirm with the first real call
 * (`exportsync check --contract`). The connector reads `endInclusive` from here (index.ts
 * `exportRange`), the simulator its field names and end-date semantics.
 */
import { assumed, confirmed, type ContractMap, type SourceContract } from '../../src/contract/types.js';
import { DATASETS, type DatasetSpec } from './dictionary.js';

const SEED = 'seeds/002 (marketplace analytics export docs)';
const NOTES = 'notes/source-apis.md §3';
const OURS = `${NOTES} (no HTTP API documented: our design [G])`;

function contractOf(spec: DatasetSpec): SourceContract {
  return {
    endpoint: assumed(
      'GET {base_url}{export_path}?dataset&start_date&end_date&format',
      `${OURS}; path configurable (export_path)`,
    ),
    auth: assumed('Authorization: Bearer <token>', `${OURS} (InstallHub's planned REST API uses Bearer)`),
    format: assumed(
      'csv',
      `${SEED} ("Column headers are included in the first row"); JSON: {"periods":[...]} [G]`,
    ),
    wrapper: assumed('periods', `${SEED} ("arrays of period objects"); the member name is ours [G]`),
    endInclusive: assumed(true, `${OURS}: the connector asks from's day .. the day before the window end`),
    maxRangeDays: confirmed(731, `${SEED} ("Maximum range is 24 months"); 24-month retention`),
    params: {
      dataset: assumed(spec.name, OURS),
      start_date: assumed('first UTC day, YYYY-MM-DD, inclusive; not before the retention edge', OURS),
      end_date: assumed('last UTC day, YYYY-MM-DD, inclusive', OURS),
      format: assumed('csv | json', `${SEED} (CSV or JSON export) [C]; the parameter is ours [G]`),
    },
    fields: Object.fromEntries(
      spec.columns.map((c) => [
        c.name,
        { value: c.type, status: 'assumed' as const, source: `${SEED} (name [C]; type ours [G])` },
      ]),
    ),
    key: assumed(spec.key, `connectors/marketplace/dictionary.ts (grain from ${SEED} [C], key ours [G])`),
    cursor: confirmed(spec.cursor, `${SEED} (the dataset's date field)`),
    formats: Object.fromEntries(
      spec.columns
        .filter((c) => c.type === 'date')
        .map((c) => [c.name, assumed('YYYY-MM-DD', `${OURS}; dates with a midnight time are read too`)]),
    ),
  };
}

/** Contracts by stream (= dataset) name, attached by src/engine/sources.ts. */
export const MARKETPLACE_CONTRACTS: ContractMap = Object.fromEntries(
  DATASETS.map((d) => [d.name, contractOf(d)]),
);
