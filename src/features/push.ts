import { errors } from '../errors.js';
import type { FeatureDtype, FeatureRepo, SourceDef } from './definitions.js';
import { viewJoinKeys } from './layout.js';
import { entityKey, type OnlineWrite } from './online/index.js';

/** Feast's push request: columns of rows for the views fed by one source. */
export interface PushRequest {
  push_source_name: string;
  df: Record<string, unknown[]>;
  to?: 'online' | 'offline' | 'online_and_offline';
}

/** What a push turns into: online writes and, for `to: offline`, CSV text for the source's push log. */
export interface PushPlan {
  online: OnlineWrite[];
  offline?: { source: SourceDef; header: string; lines: string };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** UTC wall time as DuckDB reads a plain TIMESTAMP. */
function csvTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Parses an event time: ISO 8601 text or epoch seconds. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) || !/T|\s\d/.test(v) ? v : `${v.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? undefined : t;
}

/** The shortest decimal that reads back as the same float32 (what DuckDB prints for FLOAT). */
export function shortestFloat32(v: number): number {
  const f = Math.fround(v);
  for (let p = 1; p < 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

/** A pushed value checked against its dtype and made JSON-ready (timestamps become epoch seconds). */
function checkValue(v: unknown, dtype: FeatureDtype, field: string): unknown {
  if (v === null || v === undefined) return null;
  const bad = () => errors.datatype(`${field} must be ${dtype} (got ${JSON.stringify(v)})`, field);
  switch (dtype) {
    case 'bool':
      if (typeof v !== 'boolean') throw bad();
      return v;
    case 'int32':
    case 'int64':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad();
      if (dtype === 'int32' && (v < -(2 ** 31) || v >= 2 ** 31)) throw bad();
      return v;
    case 'float32':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad();
      return shortestFloat32(v);
    case 'float64':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad();
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad();
      return v;
    case 'unix_timestamp': {
      const t = parseTime(v);
      if (t === undefined) throw bad();
      return Math.floor(t / 1000);
    }
  }
}

/** Turns a push request into online writes for every view its source feeds (and offline log lines). */
export function planPush(repo: FeatureRepo, req: PushRequest, now = Date.now()): PushPlan {
  if (typeof req !== 'object' || req === null) throw errors.badRequest('push body must be an object', 'body');
  if (typeof req.push_source_name !== 'string') throw errors.badRequest('push_source_name is required', 'push_source_name');
  const to = req.to ?? 'online';
  if (to !== 'online' && to !== 'offline' && to !== 'online_and_offline') {
    throw errors.badRequest(`to must be online, offline or online_and_offline (got ${JSON.stringify(to)})`, 'to');
  }
  const src = repo.sources.find((s) => s.name === req.push_source_name) as SourceDef | undefined;
  if (!src) throw errors.badRequest(`unknown push source '${req.push_source_name}'`, 'push_source_name');
  const views = repo.feature_views.filter((v) => v.source === src.name);
  if (views.length === 0) throw errors.badRequest(`source '${src.name}' feeds no feature view`, 'push_source_name');
  const df = req.df;
  if (typeof df !== 'object' || df === null || Array.isArray(df)) throw errors.badRequest('df must be an object of column -> list of values', 'df');
  let n = -1;
  for (const [col, vals] of Object.entries(df)) {
    if (!Array.isArray(vals)) throw errors.badRequest(`df.${col} must be a list`, `df.${col}`);
    if (n >= 0 && vals.length !== n) throw errors.badRequest(`df.${col} has ${vals.length} values but other columns have ${n}`, `df.${col}`);
    n = vals.length;
  }
  const column = (name: string): unknown[] => {
    const c = df[name];
    if (!c) throw errors.badRequest(`df: missing column '${name}'`, `df.${name}`);
    return c;
  };
  const ts = column(src.timestamp_field);
  const created = src.created_timestamp_field ? df[src.created_timestamp_field] : undefined;
  const writes: OnlineWrite[] = [];
  for (const view of views) {
    const keyCols = viewJoinKeys(repo, view).map(column);
    const featCols = view.features.map((f) => column(f.name));
    for (let r = 0; r < n; r++) {
      const eventTs = parseTime(ts[r]);
      if (eventTs === undefined) throw errors.badRequest(`df.${src.timestamp_field}[${r}] must be an ISO 8601 time or epoch seconds`, `df.${src.timestamp_field}[${r}]`);
      const keyVals = keyCols.map((c, j) => {
        const v = c[r];
        if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
          throw errors.badRequest(`df.${viewJoinKeys(repo, view)[j]}[${r}] must be a string or a number`, `df.${viewJoinKeys(repo, view)[j]}[${r}]`);
        }
        return v;
      });
      const values = view.features.map((f, j) => checkValue(featCols[j]![r], f.dtype, `df.${f.name}[${r}]`));
      const c = created ? parseTime(created[r]) : undefined;
      writes.push({ view: view.name, key: entityKey(keyVals), eventTs, createdTs: c ?? now, values: JSON.stringify(values) });
    }
  }
  const plan: PushPlan = { online: to === 'offline' ? [] : writes };
  if (to !== 'online') {
    // every column the source's views read, in one order; times as UTC wall time
    const cols = [...new Set([src.timestamp_field, ...(src.created_timestamp_field ? [src.created_timestamp_field] : []), ...views.flatMap((v) => [...viewJoinKeys(repo, v), ...v.features.map((f) => f.name)])])];
    const timeCols = new Set([src.timestamp_field, src.created_timestamp_field, ...views.flatMap((v) => v.features.filter((f) => f.dtype === 'unix_timestamp').map((f) => f.name))]);
    const lines: string[] = [];
    for (let r = 0; r < n; r++) {
      lines.push(
        cols
          .map((c) => {
            const v = df[c]?.[r];
            if (timeCols.has(c) && v !== null && v !== undefined) return csvTime(parseTime(v) ?? now);
            return csvCell(v);
          })
          .join(','),
      );
    }
    plan.offline = { source: src, header: cols.join(','), lines: lines.length > 0 ? `${lines.join('\n')}\n` : '' };
  }
  return plan;
}
