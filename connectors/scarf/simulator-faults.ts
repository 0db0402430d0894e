/**
 * Transport faults the Scarf simulator can inject into `/events` requests, and the deterministic
 * picker that decides which request gets which. A test that queues faults must see exactly those
 * faults, in order, on exactly the next requests: otherwise retry tests pass by luck.
 */
import { hashSeed, rng } from './simulator-data.js';

export type ScarfFault =
  /** An HTTP error status with a small JSON body; `retryAfter` sets the Retry-After header verbatim. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** The socket is destroyed before any response byte (ECONNRESET / "socket hang up"). */
  | { kind: 'reset' }
  /** 200 and the header, then `afterRows` rows, then the socket is destroyed mid-body. */
  | { kind: 'truncate'; afterRows: number }
  /** Waits `delayMs` before the headers, then answers normally. */
  | { kind: 'slow'; delayMs: number }
  /** Answers normally but pauses `delayMs` after `afterRows` rows (an idle body, for timeouts). */
  | { kind: 'stall'; afterRows: number; delayMs: number };

/** Shorthands for the common faults. */
export const faults = {
  tooManyRequests: (retryAfter?: string): ScarfFault => ({ kind: 'status', status: 429, retryAfter }),
  serverError: (status = 500): ScarfFault => ({ kind: 'status', status }),
  reset: (): ScarfFault => ({ kind: 'reset' }),
  truncate: (afterRows = 10): ScarfFault => ({ kind: 'truncate', afterRows }),
  slow: (delayMs: number): ScarfFault => ({ kind: 'slow', delayMs }),
  stall: (afterRows: number, delayMs: number): ScarfFault => ({ kind: 'stall', afterRows, delayMs }),
};

/** Faults drawn by `faultRate` / `failEvery` when `faultKinds` is not given. */
export const DEFAULT_FAULT_KINDS: ScarfFault[] = [
  faults.tooManyRequests('1'),
  faults.tooManyRequests(),
  faults.serverError(500),
  faults.serverError(502),
  faults.reset(),
  faults.truncate(10),
];

export interface ScarfFaultPolicy {
  /** Probability (0..1) that an `/events` request gets a fault, drawn from a seeded RNG. */
  faultRate: number;
  /** Every n-th `/events` request (n, 2n, ...) gets a fault; 0 disables. */
  failEvery: number;
  /** Faults `faultRate` and `failEvery` choose from, in turn (failEvery) or at random (faultRate). */
  faultKinds: ScarfFault[];
  /** Seed of the fault RNG (default: the data seed). */
  faultSeed: string | number;
}

export function faultLabel(f: ScarfFault): string {
  switch (f.kind) {
    case 'status':
      return `status ${f.status}${f.retryAfter === undefined ? '' : ` retry-after ${f.retryAfter}`}`;
    case 'truncate':
      return `truncate after ${f.afterRows} rows`;
    case 'slow':
      return `slow ${f.delayMs}ms`;
    case 'stall':
      return `stall ${f.delayMs}ms after ${f.afterRows} rows`;
    default:
      return f.kind;
  }
}

/** Decides the fault of each `/events` request: queue first, then failEvery, then faultRate. */
export class FaultPicker {
  private queue: Array<ScarfFault | null> = [];
  private count = 0;
  private random: () => number;

  constructor(private policy: ScarfFaultPolicy) {
    this.random = rng(hashSeed(`faults:${policy.faultSeed}`));
  }

  update(policy: Partial<ScarfFaultPolicy>): void {
    this.policy = { ...this.policy, ...policy };
    if (policy.faultSeed !== undefined) this.random = rng(hashSeed(`faults:${policy.faultSeed}`));
  }

  /** Queued entries apply to the next requests in order; `null` lets one request through cleanly. */
  enqueue(list: Array<ScarfFault | null>): void {
    this.queue.push(...list);
  }

  get queued(): number {
    return this.queue.length;
  }

  next(): ScarfFault | null {
    this.count++;
    if (this.queue.length > 0) return this.queue.shift() ?? null;
    const kinds = this.policy.faultKinds;
    if (kinds.length === 0) return null;
    const { failEvery, faultRate } = this.policy;
    if (failEvery > 0 && this.count % failEvery === 0) {
      return kinds[(this.count / failEvery - 1) % kinds.length] ?? null;
    }
    if (faultRate > 0) {
      const hit = this.random() < faultRate;
      const which = this.random();
      if (hit) return kinds[Math.floor(which * kinds.length)] ?? null;
    }
    return null;
  }
}
