import { errors } from '../errors.js';
import type { Layout } from './layout.js';
import { entityKey, type OnlineKey, type OnlineStore } from './online/index.js';

export type FeatureStatus = 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE';

/** One column of the answer: a join key or a feature, across the entity rows. */
export interface FeatureVector {
  values: unknown[];
  statuses: FeatureStatus[];
  event_timestamps: string[];
}

/** Feast's get-online-features answer: one result per name, join keys first. */
export interface OnlineFeaturesResponse {
  metadata: { feature_names: string[] };
  results: FeatureVector[];
}

const EPOCH = '1970-01-01T00:00:00Z';
// Materialized rows share few distinct event times; formatting each once saves most of the cost.
const isoCache = new Map<number, string>();
function iso(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    if (isoCache.size >= 10_000) isoCache.clear();
    s = new Date(ms).toISOString();
    isoCache.set(ms, s);
  }
  return s;
}

/** Checks the entity columns a layout needs; returns the row count. */
export function checkEntities(layout: Layout, entities: unknown): number {
  if (typeof entities !== 'object' || entities === null || Array.isArray(entities)) {
    throw errors.badRequest('entities must be an object of join key -> list of values', 'entities');
  }
  const cols = entities as Record<string, unknown>;
  let n = -1;
  for (const k of layout.joinKeys) {
    const col = cols[k];
    if (col === undefined) throw errors.badRequest(`entities: missing join key '${k}' (needed: ${layout.joinKeys.join(', ')})`, `entities.${k}`);
    if (!Array.isArray(col) || col.length === 0) throw errors.badRequest(`entities.${k} must be a non-empty list`, `entities.${k}`);
    if (n >= 0 && col.length !== n) throw errors.badRequest(`entities.${k} has ${col.length} values but the other join keys have ${n}`, `entities.${k}`);
    n = col.length;
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
        throw errors.badRequest(`entities.${k}[${i}] must be a string or a number (got ${JSON.stringify(v) ?? typeof v})`, `entities.${k}[${i}]`);
      }
    }
  }
  return n;
}

/** Reads every view of a layout for every entity row in one store round trip and shapes Feast's answer. */
export async function readOnline(store: OnlineStore, layout: Layout, entities: Record<string, unknown[]>, n: number, now = Date.now()): Promise<OnlineFeaturesResponse> {
  const groups = layout.groups;
  const keys: OnlineKey[] = new Array(groups.length * n);
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const cols = group.joinKeys.map((k) => entities[k] as unknown[]);
    for (let r = 0; r < n; r++) {
      keys[g * n + r] = { view: group.view.name, key: cols.length === 1 ? String(cols[0]![r]) : entityKey(cols.map((c) => c[r])) };
    }
  }
  const records = await store.read(keys);
  // parse each record once; every feature of its view reads from it
  const parsed: (unknown[] | undefined)[] = new Array(records.length);
  const stamps: string[] = new Array(records.length);
  const stale: boolean[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    if (!rec) {
      stamps[i] = EPOCH;
      continue;
    }
    parsed[i] = JSON.parse(rec.values) as unknown[];
    stamps[i] = iso(rec.eventTs);
    const ttl = groups[Math.floor(i / n)]!.ttlMs;
    stale[i] = ttl > 0 && now - rec.eventTs > ttl;
  }
  const results: FeatureVector[] = layout.joinKeys.map((k) => ({
    values: entities[k] as unknown[],
    statuses: new Array<FeatureStatus>(n).fill('PRESENT'),
    event_timestamps: new Array<string>(n).fill(EPOCH),
  }));
  for (const [g, p] of layout.order) {
    const pick = groups[g]!.picks[p]!;
    const values: unknown[] = new Array(n);
    const statuses: FeatureStatus[] = new Array(n);
    const ts: string[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const i = g * n + r;
      const row = parsed[i];
      ts[r] = stamps[i]!;
      if (!row) {
        values[r] = null;
        statuses[r] = 'NOT_FOUND';
      } else if (stale[i]) {
        values[r] = null;
        statuses[r] = 'OUTSIDE_MAX_AGE';
      } else {
        const v = row[pick.index];
        values[r] = v ?? null;
        statuses[r] = v === null || v === undefined ? 'NULL_VALUE' : 'PRESENT';
      }
    }
    results.push({ values, statuses, event_timestamps: ts });
  }
  return { metadata: { feature_names: layout.outputNames.slice() }, results };
}
