import type { Registry } from 'prom-client';
import type { InferenceEvent, InferenceObserver } from '../../serving/index.js';

/** Where rule values come from. */
export interface AlertSignals {
  /** The metric's current value for a model; undefined means no data (the rule neither fires nor resolves). */
  value(model: string, metric: string, opts: { column?: string; windowMs: number }): number | undefined;
  /** The version the latest data came from, for events. */
  version?(model: string, metric: string): number | undefined;
  /** Models that have data, for rules that name no model. */
  models?(): string[];
  /** Called once before each evaluation (to snapshot values that are only readable asynchronously). */
  refresh?(): Promise<void>;
}

/** Calls kept per model: the window of latency and error rate covers at most this many recent calls. */
export const CALLS_PER_MODEL = 8192;

/** A fixed-size ring of recent calls of one model. */
class CallRing {
  readonly time = new Float64Array(CALLS_PER_MODEL);
  readonly seconds = new Float64Array(CALLS_PER_MODEL);
  readonly status = new Uint16Array(CALLS_PER_MODEL);
  readonly version = new Int32Array(CALLS_PER_MODEL);
  next = 0;
  size = 0;

  push(e: InferenceEvent): void {
    const i = this.next;
    this.time[i] = e.time;
    this.seconds[i] = e.seconds;
    this.status[i] = e.status;
    this.version[i] = e.version ?? 0;
    this.next = (i + 1) % CALLS_PER_MODEL;
    if (this.size < CALLS_PER_MODEL) this.size++;
  }

  /** Indices of calls at or after `since`, newest first. */
  *recent(since: number): Generator<number> {
    for (let k = 1; k <= this.size; k++) {
      const i = (this.next - k + CALLS_PER_MODEL) % CALLS_PER_MODEL;
      if ((this.time[i] as number) < since) return;
      yield i;
    }
  }
}

/** The 95th percentile with numpy's default linear interpolation. */
function p95(values: number[]): number {
  values.sort((a, b) => a - b);
  const pos = 0.95 * (values.length - 1);
  const lo = Math.floor(pos);
  const a = values[lo] as number;
  const b = values[Math.min(lo + 1, values.length - 1)] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * p95 latency (ms, successful calls) and error rate (share of calls answered with a 5xx status) per model
 * over a sliding time window, from every inference call. `observe` is O(1) and allocation-free.
 */
export class CallSignals implements InferenceObserver, AlertSignals {
  private readonly rings = new Map<string, CallRing>();

  constructor(private readonly now: () => number = Date.now) {}

  observe(e: InferenceEvent): void {
    let ring = this.rings.get(e.model);
    if (!ring) {
      ring = new CallRing();
      this.rings.set(e.model, ring);
    }
    ring.push(e);
  }

  value(model: string, metric: string, opts: { windowMs: number }): number | undefined {
    const ring = this.rings.get(model);
    if (!ring || (metric !== 'p95_latency_ms' && metric !== 'error_rate')) return undefined;
    const since = this.now() - opts.windowMs;
    if (metric === 'error_rate') {
      let calls = 0;
      let failed = 0;
      for (const i of ring.recent(since)) {
        calls++;
        if ((ring.status[i] as number) >= 500) failed++;
      }
      return calls === 0 ? undefined : failed / calls;
    }
    const ms: number[] = [];
    for (const i of ring.recent(since)) if ((ring.status[i] as number) < 400) ms.push((ring.seconds[i] as number) * 1000);
    return ms.length === 0 ? undefined : p95(ms);
  }

  version(model: string, metric: string): number | undefined {
    const ring = this.rings.get(model);
    if (!ring || ring.size === 0 || (metric !== 'p95_latency_ms' && metric !== 'error_rate')) return undefined;
    const v = ring.version[(ring.next - 1 + CALLS_PER_MODEL) % CALLS_PER_MODEL] as number;
    return v > 0 ? v : undefined;
  }

  models(): string[] {
    return [...this.rings.keys()];
  }
}

interface GaugeValue {
  value: number;
  labels: Record<string, string | number>;
}

/** Distance methods whose score is drift when >= 0.1 (used when no drift-share gauge is published). */
const DISTANCE_METHODS = new Set(['wasserstein', 'jensenshannon', 'psi']);

/**
 * drift_share, drift_score and accuracy from the live monitor's Prometheus gauges
 * (`berth_drift_share` or else `berth_drift_score{model,version,column,method}`, and
 * `berth_accuracy{model,version}`), for the newest version of the model that has a value.
 */
export class GaugeSignals implements AlertSignals {
  private snapshot = new Map<string, GaugeValue[]>();

  constructor(private readonly registry: Registry) {}

  async refresh(): Promise<void> {
    const next = new Map<string, GaugeValue[]>();
    for (const name of ['berth_drift_share', 'berth_drift_score', 'berth_accuracy']) {
      const metric = this.registry.getSingleMetric(name);
      if (!metric) continue;
      try {
        next.set(name, (await metric.get()).values as GaugeValue[]);
      } catch {
        // a collector that fails leaves this metric without data this round
      }
    }
    this.snapshot = next;
  }

  /** The values of the model's newest version in `name`. */
  private newest(name: string, model: string): { version: number; values: GaugeValue[] } | undefined {
    const all = (this.snapshot.get(name) ?? []).filter((v) => String(v.labels.model) === model && Number.isFinite(v.value));
    if (all.length === 0) return undefined;
    const version = Math.max(...all.map((v) => Number(v.labels.version) || 0));
    return { version, values: all.filter((v) => (Number(v.labels.version) || 0) === version) };
  }

  private pick(model: string, metric: string, column?: string): { version: number; value: number } | undefined {
    if (metric === 'accuracy') {
      const n = this.newest('berth_accuracy', model);
      return n && { version: n.version, value: n.values[0]?.value as number };
    }
    if (metric === 'drift_score') {
      const n = this.newest('berth_drift_score', model);
      const scores = n?.values.filter((v) => column === undefined || String(v.labels.column) === column) ?? [];
      return n && scores.length > 0 ? { version: n.version, value: Math.max(...scores.map((v) => v.value)) } : undefined;
    }
    if (metric === 'drift_share') {
      const share = this.newest('berth_drift_share', model);
      if (share) return { version: share.version, value: share.values[0]?.value as number };
      const n = this.newest('berth_drift_score', model);
      const scored = n?.values.filter((v) => DISTANCE_METHODS.has(String(v.labels.method))) ?? [];
      if (!n || scored.length === 0) return undefined;
      return { version: n.version, value: scored.filter((v) => v.value >= 0.1).length / scored.length };
    }
    return undefined;
  }

  value(model: string, metric: string, opts: { column?: string }): number | undefined {
    return this.pick(model, metric, opts.column)?.value;
  }

  version(model: string, metric: string): number | undefined {
    return this.pick(model, metric)?.version;
  }

  models(): string[] {
    const out = new Set<string>();
    for (const values of this.snapshot.values()) for (const v of values) out.add(String(v.labels.model));
    return [...out];
  }
}

/** Asks each source in turn; the first with a value answers. */
export function combineSignals(sources: AlertSignals[]): Required<AlertSignals> {
  return {
    value: (model, metric, opts) => {
      for (const s of sources) {
        const v = s.value(model, metric, opts);
        if (v !== undefined) return v;
      }
      return undefined;
    },
    version: (model, metric) => {
      for (const s of sources) {
        const v = s.version?.(model, metric);
        if (v !== undefined) return v;
      }
      return undefined;
    },
    models: () => [...new Set(sources.flatMap((s) => s.models?.() ?? []))],
    refresh: async () => {
      await Promise.all(sources.map((s) => s.refresh?.()));
    },
  };
}
