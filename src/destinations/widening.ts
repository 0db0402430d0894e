/**
 * The widening lattice of logical types every destination shares: which column type changes keep
 * every value (so a column may change type in place or by a rebuild), and the narrowest type
 * covering two. How a backend carries a widening out (ALTER, rebuild, add-copy-swap) is its own.
 * If one backend accepted a change outside this lattice it would cut values (decimal → integer)
 * or mangle them (timestamp → date); if it refused one inside it, a stream that loads into one
 * warehouse would fail on another.
 */
import type { LogicalType } from '../core/contracts.js';

const WIDENINGS: ReadonlySet<string> = new Set([
  'boolean->integer',
  'boolean->decimal',
  'boolean->float',
  'integer->decimal',
  'integer->float',
  'decimal->float',
  'date->timestamp',
]);

/** from → to changes that keep every value: the same type, anything to string, and the list above. */
export function isWidening(from: LogicalType, to: LogicalType): boolean {
  return from === to || to === 'string' || WIDENINGS.has(`${from}->${to}`);
}

/** The narrowest logical type covering both, or null when neither widens to the other. */
export function cover(a: LogicalType, b: LogicalType): LogicalType | null {
  if (isWidening(a, b)) return b;
  if (isWidening(b, a)) return a;
  return null;
}
