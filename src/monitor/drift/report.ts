import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { errors } from '../../errors.js';
import { countRows, type DatasetSource, describeDataset, type LoadedColumn, readColumns } from './load.js';
import { categoricalStatistic, chooseMethod, histogram, isDrift, MAX_CATEGORICAL_DISTINCT, thresholdOf } from './methods.js';
import { NumericAnalyzer, type NumericOutcome, NumericPool, readGroups } from './numeric-pass.js';
import { type ColumnChart, type ColumnDrift, type ColumnKind, DRIFT_METHODS, type DriftOptions, type DriftResult } from './types.js';

const DEFAULT_DRIFT_SHARE = 0.5;

function checkOptions(o: DriftOptions): void {
  if (o.method !== undefined && !DRIFT_METHODS.includes(o.method)) {
    throw errors.badRequest(`unknown drift method '${String(o.method)}': expected one of ${DRIFT_METHODS.join(', ')}`, '--method');
  }
  const share = o.driftShare;
  if (share !== undefined && !(Number.isFinite(share) && share > 0 && share <= 1)) {
    throw errors.badRequest(`--drift-share must be a number in (0, 1], got ${String(share)}`, '--drift-share');
  }
}

function pickColumns(o: DriftOptions, ref: DatasetSource, cur: DatasetSource): string[] {
  const refNames = [...ref.columns.keys()];
  const chosen = o.columns ?? refNames;
  if (chosen.length === 0) throw errors.badRequest('--columns names no columns', '--columns');
  const seen = new Set<string>();
  for (const name of chosen) {
    if (seen.has(name)) throw errors.badRequest(`column '${name}' is named twice in --columns`, '--columns');
    seen.add(name);
    if (!ref.columns.has(name)) {
      throw errors.badRequest(`column '${name}' is not in the reference dataset (columns: ${refNames.join(', ')})`, '--columns');
    }
    if (!cur.columns.has(name)) {
      throw errors.badRequest(
        `column '${name}' is in the reference but not in the current dataset '${cur.path}'; choose the columns to compare with --columns`,
        '--columns',
      );
    }
  }
  for (const name of o.categorical ?? []) {
    if (!seen.has(name)) throw errors.badRequest(`--categorical column '${name}' is not among the compared columns`, '--categorical');
  }
  return chosen;
}

function countsOf(col: LoadedColumn): Map<string, number> {
  if (col.type === 'text') return col.counts;
  const counts = new Map<string, number>();
  for (const v of col.values) {
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

interface Computed {
  drift: ColumnDrift;
  chart: ColumnChart;
}

function compareColumn(
  name: string,
  refLoaded: LoadedColumn,
  curLoaded: LoadedColumn,
  numeric: NumericOutcome | undefined,
  forcedCategorical: boolean,
  requested: DriftOptions['method'],
  referenceRows: number,
): Computed {
  // The loaded buffers went to the workers; the sorted ones in `numeric` replace them.
  const ref: LoadedColumn = numeric === undefined ? refLoaded : { type: 'number', values: numeric.ref, missing: refLoaded.missing };
  const cur: LoadedColumn = numeric === undefined ? curLoaded : { type: 'number', values: numeric.cur, missing: curLoaded.missing };
  let kind: ColumnKind = 'categorical';
  if (numeric !== undefined && !forcedCategorical && numeric.distinct > MAX_CATEGORICAL_DISTINCT) kind = 'numerical';
  const method = chooseMethod(requested ?? 'auto', kind, referenceRows);
  const entry = (statistic: number | null, pValue: number | null, drift: boolean): ColumnDrift => ({
    column: name,
    kind,
    method,
    statistic,
    p_value: pValue,
    threshold: thresholdOf(method),
    drift,
    missing_reference: ref.missing,
    missing_current: cur.missing,
  });
  let result: { statistic: number; pValue: number | null } | null = null;
  let chart: ColumnChart;
  if (kind === 'numerical' && numeric !== undefined) {
    result = numeric.result;
    chart = { kind, ...histogram(numeric.ref, numeric.cur) };
  } else {
    const rc = countsOf(ref);
    const cc = countsOf(cur);
    // Categories are the union of both datasets' values, ordered by total count.
    const categories = [...new Set([...rc.keys(), ...cc.keys()])].sort(
      (a, b) => (rc.get(b) ?? 0) + (cc.get(b) ?? 0) - ((rc.get(a) ?? 0) + (cc.get(a) ?? 0)) || (a < b ? -1 : a > b ? 1 : 0),
    );
    const r = categories.map((c) => rc.get(c) ?? 0);
    const c = categories.map((k) => cc.get(k) ?? 0);
    const nonEmpty = (xs: number[]): boolean => xs.some((x) => x > 0);
    if (nonEmpty(r) && nonEmpty(c)) result = categoricalStatistic(method, r, c);
    chart = { kind: 'categorical', categories, reference: r, current: c };
  }
  if (result === null) {
    // One side has no values at all: no statistic, and drift exactly when the other side has some.
    const refEmpty = ref.type === 'number' ? ref.values.length === 0 : ref.counts.size === 0;
    const curEmpty = cur.type === 'number' ? cur.values.length === 0 : cur.counts.size === 0;
    return { drift: entry(null, null, refEmpty !== curEmpty), chart };
  }
  return {
    drift: entry(result.statistic, result.pValue, isDrift(method, result.statistic, result.pValue)),
    chart,
  };
}

function valuesOf(col: LoadedColumn | undefined): Float64Array {
  if (col?.type !== 'number') throw new Error('internal: a numeric column was not read as numbers');
  return col.values;
}

/** Compares two datasets column by column and assembles the drift report (and chart data for HTML). */
export async function driftReport(o: DriftOptions): Promise<DriftResult> {
  checkOptions(o);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const sources: DatasetSource[] = [];
  let second: DuckDBConnection | undefined;
  let pool: NumericPool | undefined;
  try {
    const ref = await describeDataset(conn, o.reference, 'reference');
    sources.push(ref);
    const cur = await describeDataset(conn, o.current, 'current');
    sources.push(cur);
    const names = pickColumns(o, ref, cur);
    const bothNumeric = (n: string): boolean => Boolean(ref.columns.get(n)?.numeric && cur.columns.get(n)?.numeric);
    const numeric = names.filter(bothNumeric);
    const text = names.filter((n) => !bothNumeric(n));
    // Two connections: DuckDB decodes one file while JavaScript copies the other's chunks.
    second = await instance.connect();
    const counts = await Promise.all([countRows(conn, ref), countRows(second, cur)]);
    // Worker threads boot while the columns are read (sorting them is the heavy part that follows).
    pool = NumericPool.start((counts[0] + counts[1]) * numeric.length, numeric.length);
    const forced = new Set(o.categorical ?? []);
    const r = { rows: 0, columns: new Map<string, LoadedColumn>() };
    const c = { rows: 0, columns: new Map<string, LoadedColumn>() };
    // Sorting and the numerical statistics are the heavy part, per column: the workers analyze each
    // group of numeric columns while the next group is read (the text columns come with the last).
    const analyzer = new NumericAnalyzer(pool);
    const groups = readGroups(numeric, pool !== undefined && [ref, cur].every((d) => d.sql.startsWith('read_parquet(')));
    for (const [g, group] of groups.entries()) {
      const withText = g === groups.length - 1 ? text : [];
      const [rg, cg] = await Promise.all([readColumns(conn, ref, group, withText, counts[0]), readColumns(second, cur, group, withText, counts[1])]);
      r.rows = rg.rows;
      c.rows = cg.rows;
      for (const [n, col] of rg.columns) r.columns.set(n, col);
      for (const [n, col] of cg.columns) c.columns.set(n, col);
      const numericMethod = chooseMethod(o.method ?? 'auto', 'numerical', r.rows);
      for (const n of group) {
        analyzer.submit({ ref: valuesOf(rg.columns.get(n)), cur: valuesOf(cg.columns.get(n)), method: forced.has(n) ? null : numericMethod });
      }
    }
    if (r.rows === 0) throw errors.badRequest(`reference dataset '${o.reference}' has no rows`, '--reference');
    if (c.rows === 0) throw errors.badRequest(`current dataset '${o.current}' has no rows`, '--current');
    const outcomes = await analyzer.finish();
    const byName = new Map(numeric.map((n, i) => [n, outcomes[i] as NumericOutcome]));
    const computed = names.map((n) =>
      compareColumn(n, r.columns.get(n) as LoadedColumn, c.columns.get(n) as LoadedColumn, byName.get(n), forced.has(n), o.method, r.rows),
    );
    const columns = computed.map((x) => x.drift);
    const drifted = columns.filter((x) => x.drift).length;
    const threshold = o.driftShare ?? DEFAULT_DRIFT_SHARE;
    const share = drifted / columns.length;
    return {
      report: {
        reference_rows: r.rows,
        current_rows: c.rows,
        columns,
        drifted_columns: drifted,
        drift_share: share,
        dataset_drift: share >= threshold,
      },
      charts: computed.map((x) => x.chart),
      driftShareThreshold: threshold,
      reference: o.reference,
      current: o.current,
    };
  } finally {
    await pool?.close();
    for (const s of sources) await s.cleanup();
    second?.closeSync();
    conn.closeSync();
    instance.closeSync();
  }
}
