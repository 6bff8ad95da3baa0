import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the inference hot path. prom-client's own `observe` hashes and
 * validates the label set on every call (~1 µs); these keep one plain record per label set,
 * found by a single Map lookup, and hand prom-client the values only when /metrics is scraped.
 * Registered in a prom-client Registry, they print in the same exposition format.
 */

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface CollectableMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }>;
}

const labelsOf = (names: readonly string[], values: readonly string[]) =>
  Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));

/** A counter with labels whose children are plain `{ value }` records. */
export class HotCounter implements CollectableMetric {
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  private readonly series = new Map<string, { labels: string[]; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The record for one label set; keep it and bump `value` directly. */
  child(...labelValues: string[]): { value: number } {
    const key = labelValues.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { labels: labelValues, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  async get() {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) values.push({ labels: labelsOf(this.labelNames, s.labels), value: s.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** One histogram series: cumulative buckets are computed at scrape time. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: string[],
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Records one value. */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    if (i < b.length) this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
}

/** A histogram with labels; `child(...)` returns a series to keep and observe into. */
export class HotHistogram implements CollectableMetric {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series for one label set. */
  child(...labelValues: string[]): HistogramSeries {
    const key = labelValues.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = new HistogramSeries(labelValues, this.buckets);
      this.series.set(key, s);
    }
    return s;
  }

  async get() {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      const labels = labelsOf(this.labelNames, s.labels);
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
