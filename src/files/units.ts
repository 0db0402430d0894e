/**
 * Which export files a run loads: the listing compared with the objects already loaded
 * (`state.objects`), grouped into units of one window each (all parts of one export together).
 *
 *  - a group (one export: its parts) is loaded when any of its objects is new or has a new ETag;
 *    then ALL its parts are read, since the commit replaces the export's whole window;
 *  - a group whose objects are empty or cut off (probe.ts), or cannot be read, is skipped with a
 *    warning and not marked, so the next run tries again; it never stops the other groups;
 *  - a replaced window may hold rows of another export whose window starts inside it (a daily
 *    export inside a re-delivered weekly one): that export is loaded again after it, and until
 *    it is, its marks say `reload`, so a run stopped in between still reloads it next time;
 *  - snapshot streams (`newestLast`): after an older snapshot is loaded again, the newest one is
 *    loaded last, so the current table ends at the newest snapshot.
 * Units come out ordered by window start (wider first on a tie), then name.
 */
import type { FileUnit, Logger, ObjectMark, StreamState, Window } from '../core/contracts.js';
import { errorMessage } from '../core/errors.js';
import { isoDate } from '../core/time.js';
import { probeObject } from './probe.js';
import type { ObjectStore, StoredObject } from './types.js';

/** What a connector makes of one object name (the key without the prefix's folders). */
export type NameVerdict =
  | { kind: 'export'; group: string; window: Window; part: number; format: 'csv' | 'json' }
  /** Not for this stream (e.g. a rollup export seen by the events stream): silently ignored. */
  | { kind: 'other' }
  | { kind: 'skip'; level: 'info' | 'warn'; reason: string };

export interface PlanFilesOptions {
  store: ObjectStore;
  state: StreamState | null;
  classify(name: string): NameVerdict;
  log: Logger;
  now: Date;
  /** Snapshot streams: reload the newest export last after loading an older one. */
  newestLast?: boolean;
  /** Messages about one key shared by several streams of a source are logged once: true = log it. */
  firstNotice?(key: string): boolean;
}

/** The etag a mark carries while its export must be loaded again (never a real ETag). */
export const RELOAD_ETAG = 'reload';

interface Group {
  name: string;
  window: Window;
  objects: Array<StoredObject & { part: number; format: 'csv' | 'json' }>;
}

export function windowLabel(w: Window): string {
  return `${isoDate(w.from)}..${isoDate(w.to)}`;
}

export async function planFileUnits(o: PlanFilesOptions): Promise<FileUnit[]> {
  const { store, log } = o;
  const listing = await store.list();
  const notice = (key: string) => (o.firstNotice ? o.firstNotice(key) : true);
  if (listing.length === 0) {
    if (notice(`empty:${store.location}`)) {
      log.warn(
        { location: store.location },
        'no objects under the files location yet (empty bucket or prefix); nothing to load',
      );
    }
    return [];
  }
  const groups = new Map<string, Group>();
  for (const object of listing) {
    const name = object.key.slice(object.key.lastIndexOf('/') + 1);
    const verdict = o.classify(name);
    if (verdict.kind === 'other') continue;
    if (verdict.kind === 'skip') {
      if (notice(object.key)) log[verdict.level]({ object: store.uri(object.key) }, verdict.reason);
      continue;
    }
    const id = `${object.key.slice(0, object.key.length - name.length)}${verdict.group}`;
    const group = groups.get(id) ?? { name: id, window: verdict.window, objects: [] };
    group.objects.push({ ...object, part: verdict.part, format: verdict.format });
    groups.set(id, group);
  }
  const marks = o.state?.objects ?? {};
  const changed = [...groups.values()].filter((g) => g.objects.some((ob) => marks[ob.key]?.etag !== ob.etag));

  const ready: Group[] = [];
  for (const group of changed) {
    const problem = await firstProblem(store, group);
    if (problem) {
      log.warn({ export: group.name, object: problem.uri }, `export skipped this run: ${problem.reason}`);
      continue;
    }
    ready.push(group);
  }

  // exports whose window starts inside a replaced window lose rows there: load them again after it
  const queued = new Set(ready.map((g) => g.name));
  for (let grew = true; grew;) {
    grew = false;
    for (const g of groups.values()) {
      if (queued.has(g.name) || changed.includes(g)) continue;
      const hit = [...queued].some((name) => startsInside(g.window, groups.get(name)!.window));
      if (hit) {
        queued.add(g.name);
        ready.push(g);
        grew = true;
        log.info({ export: g.name }, 'loading an export again: a changed export replaces part of its window');
      }
    }
  }
  ready.sort(byStart);
  if (o.newestLast && ready.length > 0) {
    const newest = [...groups.values()].sort(byStart).at(-1)!;
    const at = ready.indexOf(newest);
    if (at === -1 && !changed.includes(newest)) ready.push(newest);
    else if (at !== -1 && at !== ready.length - 1) ready.push(...ready.splice(at, 1));
  }

  const loadedAt = o.now.toISOString();
  return ready.map((g, i) => {
    const objects: Record<string, ObjectMark> = {};
    // later units this one's commit may take rows from: marked for reload until they commit
    for (const later of ready.slice(i + 1)) {
      const pending = startsInside(later.window, g.window) || (o.newestLast && later === ready.at(-1));
      if (!pending) continue;
      for (const ob of later.objects) {
        objects[ob.key] = { etag: RELOAD_ETAG, size: ob.size, window: windowLabel(later.window), loadedAt };
      }
    }
    for (const ob of g.objects) {
      objects[ob.key] = { etag: ob.etag, size: ob.size, window: windowLabel(g.window), loadedAt };
    }
    return { window: { ...g.window }, label: g.name, objects };
  });
}

/** Keys of the objects a unit reads, in order (parts ascending); `reload` marks of other exports left out. */
export function unitKeys(unit: FileUnit): string[] {
  return Object.keys(unit.objects)
    .filter((k) => unit.objects[k]!.etag !== RELOAD_ETAG)
    .sort();
}

function startsInside(inner: Window, outer: Window): boolean {
  return inner.from >= outer.from && inner.from < outer.to;
}

function byStart(a: Group, b: Group): number {
  return (
    a.window.from.getTime() - b.window.from.getTime() ||
    b.window.to.getTime() - a.window.to.getTime() ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

async function firstProblem(
  store: ObjectStore,
  group: Group,
): Promise<{ uri: string; reason: string } | null> {
  for (const ob of group.objects) {
    try {
      const verdict = await probeObject(store, ob, ob.format);
      if (!verdict.ok) return { uri: store.uri(ob.key), reason: verdict.reason };
    } catch (err) {
      return { uri: store.uri(ob.key), reason: errorMessage(err) };
    }
  }
  return null;
}
