import { parseDuration } from '../../duration.js';
import type { ColumnChart, ColumnDrift, DriftMethod } from '../drift/index.js';
import { PREDICTION_COLUMN, type VersionLayout } from '../logging/layout.js';
import { compareColumn } from './compare.js';
import type { ReferenceSummary } from './reference.js';
import type { BucketSummary, PerformanceSummary } from './summary.js';

/** Share of drifted columns at or above which the dataset drifts (as `berth drift`). */
export const DEFAULT_DRIFT_SHARE = 0.5;

/** `GET /api/v1/monitoring/{model}/drift`: `berth drift --json`'s shape plus model, version, window and rows. */
export interface LiveDriftReport {
  model: string;
  version: number;
  window: string;
  window_seconds: number;
  /** Logged rows in the window. */
  rows: number;
  reference_rows: number;
  current_rows: number;
  columns: ColumnDrift[];
  drifted_columns: number;
  drift_share: number;
  dataset_drift: boolean;
  /** The `prediction` column's verdict (concept drift), also listed in `columns`. */
  prediction_drift: boolean | null;
  /** Per-column distributions (only when asked for, e.g. by `berth monitor report --server`). */
  charts?: ColumnChart[];
}

/** Formats milliseconds the way users write windows: 1h, 15m, 90s. */
export function formatWindow(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Parses `1h`, `15m`, `30s`, `2d`, `500ms` into milliseconds; undefined for anything else. */
export function parseWindow(value: string): number | undefined {
  const ms = parseDuration(value);
  return ms !== undefined && ms >= 1 ? ms : undefined;
}

/** Compares a merged window summary with the reference, column by column, then the prediction. */
export function driftOf(
  layout: VersionLayout,
  reference: ReferenceSummary,
  current: BucketSummary,
  windowMs: number,
  method: DriftMethod = 'auto',
  driftShare = DEFAULT_DRIFT_SHARE,
): { report: LiveDriftReport; charts: ColumnChart[] } {
  const columns: ColumnDrift[] = [];
  const charts: ColumnChart[] = [];
  layout.features.forEach((name, j) => {
    const ref = reference.columns.get(name);
    const cur = current.columns[j];
    if (ref === undefined || cur === undefined) return;
    const c = compareColumn(name, ref, cur, reference.rows, method);
    columns.push(c.drift);
    charts.push(c.chart);
  });
  let predictionDrift: boolean | null = null;
  if (reference.prediction !== undefined) {
    // Predictions of a classifier are classes even when the model emits them as numbers.
    const categorical = layout.prediction?.how !== 'value';
    const c = compareColumn(PREDICTION_COLUMN, reference.prediction, current.prediction, reference.rows, method, categorical);
    columns.push(c.drift);
    charts.push(c.chart);
    predictionDrift = c.drift.drift;
  }
  const drifted = columns.filter((c) => c.drift).length;
  const share = columns.length === 0 ? 0 : drifted / columns.length;
  return {
    report: {
      model: layout.model,
      version: layout.version,
      window: formatWindow(windowMs),
      window_seconds: windowMs / 1000,
      rows: current.rows,
      reference_rows: reference.rows,
      current_rows: current.rows,
      columns,
      drifted_columns: drifted,
      drift_share: share,
      dataset_drift: columns.length > 0 && current.rows > 0 && share >= driftShare,
      prediction_drift: predictionDrift,
    },
    charts,
  };
}

/** Classification and regression scores of labeled predictions (null where they do not apply). */
export interface Scores {
  labeled: number;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  mae: number | null;
  rmse: number | null;
}

/**
 * Accuracy and macro precision, recall and F1 over the classes seen in labels or predictions (as
 * scikit-learn's `average='macro'`, zero where a class has no predictions or no labels); MAE and RMSE
 * when the task is regression.
 */
export function scoresOf(p: PerformanceSummary, task: 'classification' | 'regression'): Scores {
  const none: Scores = { labeled: p.labeled, accuracy: null, precision: null, recall: null, f1: null, mae: null, rmse: null };
  if (p.labeled === 0) return none;
  if (task === 'regression') {
    if (p.numeric === 0) return none;
    return { ...none, mae: p.absError / p.numeric, rmse: Math.sqrt(p.sqError / p.numeric) };
  }
  const predicted = new Map<string, number>();
  const actual = new Map<string, number>();
  const hits = new Map<string, number>();
  let right = 0;
  for (const [key, n] of p.confusion) {
    const [pred, label] = key.split('\u0000') as [string, string];
    predicted.set(pred, (predicted.get(pred) ?? 0) + n);
    actual.set(label, (actual.get(label) ?? 0) + n);
    if (pred === label) {
      right += n;
      hits.set(pred, (hits.get(pred) ?? 0) + n);
    }
  }
  const classes = new Set([...predicted.keys(), ...actual.keys()]);
  let ps = 0;
  let rs = 0;
  let fs = 0;
  for (const c of classes) {
    const tp = hits.get(c) ?? 0;
    const pc = predicted.get(c) ?? 0;
    const ac = actual.get(c) ?? 0;
    const precision = pc > 0 ? tp / pc : 0;
    const recall = ac > 0 ? tp / ac : 0;
    ps += precision;
    rs += recall;
    fs += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  }
  const k = classes.size;
  return { ...none, accuracy: right / p.labeled, precision: ps / k, recall: rs / k, f1: fs / k };
}

/** One sub-bucket of the performance series. */
export interface PerformanceBucket extends Scores {
  start: string;
  end: string;
  requests: number;
  rows: number;
  errors: number;
  latency_p50: number | null;
  latency_p95: number | null;
}

/** `GET /api/v1/monitoring/{model}/performance`. */
export interface PerformanceReport extends Scores {
  model: string;
  version: number;
  window: string;
  window_seconds: number;
  task: 'classification' | 'regression';
  requests: number;
  rows: number;
  errors: number;
  error_rate: number | null;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  /** The window's sub-buckets, oldest first: accuracy and latency over time. */
  buckets: PerformanceBucket[];
}

const q = (b: BucketSummary, x: number): number | null => (b.latency.count === 0 ? null : b.latency.quantile(x));

/** The performance report of a window from its sub-buckets. */
export function performanceOf(layout: VersionLayout, buckets: BucketSummary[], merged: BucketSummary, windowMs: number, bucketMs: number): PerformanceReport {
  const task = layout.prediction?.how === 'value' ? 'regression' : 'classification';
  return {
    model: layout.model,
    version: layout.version,
    window: formatWindow(windowMs),
    window_seconds: windowMs / 1000,
    task,
    ...scoresOf(merged.performance, task),
    requests: merged.requests,
    rows: merged.rows,
    errors: merged.errors,
    error_rate: merged.requests === 0 ? null : merged.errors / merged.requests,
    latency_p50: q(merged, 0.5),
    latency_p95: q(merged, 0.95),
    latency_p99: q(merged, 0.99),
    buckets: buckets.map((b) => ({
      start: new Date(b.start).toISOString(),
      end: new Date(b.start + bucketMs).toISOString(),
      requests: b.requests,
      rows: b.rows,
      errors: b.errors,
      ...scoresOf(b.performance, task),
      latency_p50: q(b, 0.5),
      latency_p95: q(b, 0.95),
    })),
  };
}
