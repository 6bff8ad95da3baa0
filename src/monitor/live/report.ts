import { join } from 'node:path';
import { errors } from '../../errors.js';
import type { Tensor } from '../../protocol/index.js';
import type { Registry } from '../../registry/index.js';
import type { ModelRuntime } from '../../runtime/index.js';
import { type ColumnChart, renderDriftHtml } from '../drift/index.js';
import { cellReader, layoutOf, type VersionLayout } from '../logging/layout.js';
import { PredictionStore } from '../logging/store.js';
import { DEFAULT_DRIFT_SHARE, driftOf, type LiveDriftReport, type PerformanceReport, performanceOf } from './queries.js';
import { loadReferenceSummary } from './reference.js';
import { type CellValue, type ColumnSummary, SlidingWindow, summarizedColumns } from './summary.js';

/** What `berth monitor report` reads locally. */
export interface MonitorReportOptions {
  home: string;
  registry: Registry;
  /** Runs the model on its reference when its predictions are not cached yet (concept drift). */
  runtime?: ModelRuntime;
  model: string;
  version?: number;
  windowMs: number;
  now?: number;
}

const BUCKETS = 12;

/**
 * Folds the logged rows and labels of one version in [from, to) into a window, as the server folded
 * them when they were served (at most `maxRows` rows). Returns the rows taken.
 */
export function replayLog(store: PredictionStore, window: SlidingWindow, layout: VersionLayout, from: number, to: number, maxRows = Number.POSITIVE_INFINITY): number {
  let taken = 0;
  store.scanCalls(layout.model, from, to, (call) => {
    if (call.version !== layout.version) return true;
    const b = window.bucketAt(call.time);
    if (b === undefined) return true;
    b.requests++;
    b.latency.update(call.seconds);
    if (call.status !== 200) b.errors++;
    if (call.status !== 200 || call.rows === 0) return true;
    // the same reader the live path used, over the logged tensors: the window comes back as it was
    const reader = cellReader(layout, call.inputs);
    const n = call.rows;
    b.rows += n;
    for (let j = 0; j < b.columns.length; j++) {
      const col = b.columns[j] as ColumnSummary;
      for (let i = 0; i < n; i++) col.add(i < reader.rows ? reader.get(i, j) : null);
    }
    for (let i = 0; i < n; i++) b.prediction.add(call.predictions[i] ?? null);
    taken += n;
    return taken < maxRows;
  });
  for (const f of store.feedback(layout.model, from, to)) {
    if (f.version !== layout.version) continue;
    window.bucketAt(f.time)?.performance.add(f.prediction === null ? null : (JSON.parse(f.prediction) as CellValue), f.label);
  }
  return taken;
}

/**
 * The live-traffic report from the prediction store under home: the logged rows of the window are
 * folded into the same summaries the server keeps, and compared with the version's reference.
 */
export async function monitorReport(o: MonitorReportOptions): Promise<{ drift: (LiveDriftReport & { charts: ColumnChart[] }) | undefined; performance: PerformanceReport }> {
  const now = o.now ?? Date.now();
  const from = now - o.windowMs;
  const store = new PredictionStore(join(o.home, 'predictions'));
  try {
    let version = o.version;
    if (version === undefined) {
      let newest = 0;
      store.scanCalls(o.model, from, now + 1, (c) => {
        if (c.version !== null && c.version > newest) newest = c.version;
        return true;
      });
      version = newest > 0 ? newest : (await o.registry.resolve({ name: o.model })).version;
    }
    const mv = await o.registry.resolve({ name: o.model, version });
    const layout = layoutOf(mv);
    const window = new SlidingWindow(o.windowMs, BUCKETS, summarizedColumns(mv, layout.features.length));
    replayLog(store, window, layout, from, now + 1);
    const merged = window.merged(now);
    const performance = performanceOf(layout, window.recent(now), merged, o.windowMs, window.bucketMs);
    let run: ((inputs: Tensor[]) => Promise<Tensor[]>) | undefined;
    const runtime = o.runtime;
    if (runtime !== undefined) {
      let loaded: ReturnType<ModelRuntime['load']> | undefined;
      run = async (inputs) => {
        loaded ??= o.registry.loadArtifact(mv).then((bytes) => runtime.load(bytes));
        return (await loaded).run(inputs);
      };
    }
    const ref = await loadReferenceSummary(o.registry, o.home, mv, layout, run);
    const drift = ref === undefined ? undefined : driftOf(layout, ref, merged, o.windowMs);
    return { drift: drift && { ...drift.report, charts: drift.charts }, performance };
  } finally {
    store.close();
  }
}

const esc = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** A small inline SVG line chart of one series over the window's buckets (gaps where there is no data). */
function lineChart(label: string, values: (number | null)[], times: string[], format: (v: number) => string): string {
  const W = 560;
  const H = 180;
  const P = { l: 56, r: 12, t: 10, b: 30 };
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return `<p class="meta">${esc(label)}: no data in this window</p>`;
  const lo = Math.min(0, ...present);
  const hi = Math.max(...present, lo + 1e-9);
  const x = (i: number): number => P.l + (values.length <= 1 ? 0 : (i / (values.length - 1)) * (W - P.l - P.r));
  const y = (v: number): number => H - P.b - ((v - lo) / (hi - lo)) * (H - P.t - P.b);
  const parts: string[] = [];
  let path = '';
  values.forEach((v, i) => {
    if (v === null) {
      path += ' ';
      return;
    }
    path += `${path === '' || path.endsWith(' ') ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="#f58518"><title>${esc(times[i] ?? '')}: ${esc(format(v))}</title></circle>`);
  });
  const axis = [lo, hi]
    .map((v) => `<line x1="${P.l}" x2="${W - P.r}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${P.l - 4}" y="${y(v) + 4}" text-anchor="end">${esc(format(v))}</text>`)
    .join('');
  const ticks = [0, values.length - 1]
    .map((i) => `<text x="${x(i)}" y="${H - 10}" text-anchor="${i === 0 ? 'start' : 'end'}">${esc((times[i] ?? '').slice(11, 16))} UTC</text>`)
    .join('');
  return `<svg class="chart" role="img" aria-label="${esc(label)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${axis}${ticks}<path d="${path.trim()}" fill="none" stroke="#f58518" stroke-width="2"/>${parts.join('')}</svg>`;
}

/** The live report: `berth drift --html`'s page for traffic vs reference, plus accuracy and latency over time. */
export function renderMonitorHtml(model: string, drift: (LiveDriftReport & { charts?: ColumnChart[] }) | undefined, perf: PerformanceReport): string {
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  const ms = (v: number): string => `${(v * 1000).toFixed(v < 0.01 ? 3 : 1)} ms`;
  const times = perf.buckets.map((b) => b.start);
  const score = perf.task === 'regression' ? 'mae' : 'accuracy';
  const summary = (v: number | null, f: (x: number) => string): string => (v === null ? '–' : f(v));
  const performance = `<section class="column" id="performance">
<h2>Accuracy over time</h2>
<p class="meta">${perf.labeled} labeled predictions in the window (delayed labels, by arrival) · ${perf.task} · accuracy ${summary(perf.accuracy, pct)} · macro F1 ${summary(perf.f1, pct)} · MAE ${summary(perf.mae, (v) => v.toPrecision(4))} · RMSE ${summary(perf.rmse, (v) => v.toPrecision(4))}</p>
${lineChart(perf.task === 'regression' ? 'MAE over time' : 'accuracy over time', perf.buckets.map((b) => b[score]), times, perf.task === 'regression' ? (v) => v.toPrecision(3) : pct)}
</section>
<section class="column" id="latency">
<h2>Latency over time</h2>
<p class="meta">${perf.requests} requests, ${perf.errors} errors · p50 ${summary(perf.latency_p50, ms)} · p95 ${summary(perf.latency_p95, ms)} · p99 ${summary(perf.latency_p99, ms)}</p>
${lineChart('p95 latency over time', perf.buckets.map((b) => b.latency_p95), times, ms)}
</section>`;
  const title = `${esc(model)}:${perf.version}, live traffic over the last ${esc(perf.window)}`;
  let page: string;
  if (drift !== undefined) {
    page = renderDriftHtml({
      report: {
        reference_rows: drift.reference_rows,
        current_rows: drift.current_rows,
        columns: drift.columns,
        drifted_columns: drift.drifted_columns,
        drift_share: drift.drift_share,
        dataset_drift: drift.dataset_drift,
      },
      charts: drift.charts ?? [],
      driftShareThreshold: DEFAULT_DRIFT_SHARE,
      reference: `reference dataset of ${model}:${drift.version}`,
      current: `live traffic, last ${drift.window} (${drift.rows} rows)`,
    });
  } else {
    page = renderDriftHtml({
      report: { reference_rows: 0, current_rows: perf.rows, columns: [], drifted_columns: 0, drift_share: 0, dataset_drift: false },
      charts: [],
      driftShareThreshold: DEFAULT_DRIFT_SHARE,
      reference: `none (version ${perf.version} has no reference dataset)`,
      current: `live traffic, last ${perf.window}`,
    });
  }
  page = page.replace('<title>Berth drift report</title>', `<title>Berth monitoring report: ${title}</title>`).replace('<h1>Data drift report</h1>', `<h1>Monitoring report: ${title}</h1>`);
  const at = page.lastIndexOf('</body>');
  return `${page.slice(0, at)}<h1 style="margin-top:24px">Performance</h1>\n<div class="columns">\n${performance}\n</div>\n${page.slice(at)}`;
}

/** Parses a `--window` value or fails with the flag's name. */
export function windowFlag(value: string | undefined, parse: (v: string) => number | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parse(value);
  if (ms === undefined) throw errors.badRequest(`--window must be a duration like 1h, 15m or 1d, got '${value}'`, '--window');
  return ms;
}

