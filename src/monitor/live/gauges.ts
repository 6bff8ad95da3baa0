import { Gauge, type Registry as PromRegistry } from 'prom-client';
import { driftOf, performanceOf, type LiveDriftReport, type PerformanceReport } from './queries.js';
import type { Monitoring } from './service.js';

/** Scrapes reuse one computation for this long (Prometheus may scrape several times a second). */
const REFRESH_MS = 2_000;

interface Snapshot {
  drift: LiveDriftReport[];
  performance: PerformanceReport[];
}

/**
 * Registers the monitoring gauges, computed from the live windows when Prometheus scrapes:
 * `berth_drift_score{model,version,column,method}`, `berth_drift_detected{model,version}`,
 * `berth_drift_share{model,version}`, `berth_accuracy`, `berth_precision`, `berth_recall`, `berth_f1`, `berth_mae`, `berth_rmse` (`{model,version}`).
 */
export function registerMonitoringGauges(m: Monitoring, registry: PromRegistry): void {
  let last: { at: number; snap: Promise<Snapshot> } | undefined;
  const snapshot = (): Promise<Snapshot> => {
    const now = Date.now();
    if (last === undefined || now - last.at > REFRESH_MS) last = { at: now, snap: compute(m) };
    return last.snap;
  };
  const vl = ['model', 'version'] as const;
  new Gauge({
    name: 'berth_drift_score',
    help: 'Live drift statistic of a column (or the prediction) over the drift window against the reference (KS D, chi-squared, or the distance); higher is more drift.',
    labelNames: ['model', 'version', 'column', 'method'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const d of s.drift) {
        for (const c of d.columns) {
          if (c.statistic !== null) this.set({ model: d.model, version: String(d.version), column: c.column, method: c.method }, c.statistic);
        }
      }
    },
  });
  new Gauge({
    name: 'berth_drift_detected',
    help: '1 when the share of drifted columns over the drift window reaches the dataset drift threshold, else 0.',
    labelNames: vl,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const d of s.drift) this.set({ model: d.model, version: String(d.version) }, d.dataset_drift ? 1 : 0);
    },
  });
  new Gauge({
    name: 'berth_drift_share',
    help: 'Share of monitored columns (the prediction included) that drift over the drift window.',
    labelNames: vl,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const d of s.drift) this.set({ model: d.model, version: String(d.version) }, d.drift_share);
    },
  });
  const scores = [
    ['berth_accuracy', 'accuracy', 'Accuracy of labeled predictions (delayed labels) over the window.'],
    ['berth_precision', 'precision', 'Macro precision of labeled predictions over the window.'],
    ['berth_recall', 'recall', 'Macro recall of labeled predictions over the window.'],
    ['berth_f1', 'f1', 'Macro F1 of labeled predictions over the window.'],
    ['berth_mae', 'mae', 'Mean absolute error of labeled predictions (regression) over the window.'],
    ['berth_rmse', 'rmse', 'Root mean squared error of labeled predictions (regression) over the window.'],
  ] as const;
  for (const [name, field, help] of scores) {
    new Gauge({
      name,
      help,
      labelNames: vl,
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const p of s.performance) {
          const v = p[field];
          if (v !== null) this.set({ model: p.model, version: String(p.version) }, v);
        }
      },
    });
  }
}

async function compute(m: Monitoring): Promise<Snapshot> {
  await m.flush();
  const now = Date.now();
  const drift: LiveDriftReport[] = [];
  const performance: PerformanceReport[] = [];
  for (const st of m.versions()) {
    const merged = st.window.merged(now);
    if (merged.performance.labeled > 0) {
      performance.push(performanceOf(st.layout, [], merged, m.windowMs, st.window.bucketMs));
    }
    if (merged.rows === 0 || !st.layout.hasReference) continue;
    const ref = await m.reference(st);
    if (ref !== undefined) drift.push(driftOf(st.layout, ref, merged, m.windowMs).report);
  }
  return { drift, performance };
}
