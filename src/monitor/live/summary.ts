import { KllSketch } from './kll.js';

/** Distinct values counted per column before further new ones are lumped together. */
export const MAX_TRACKED_CATEGORIES = 256;
/** The key new values go under once a column has MAX_TRACKED_CATEGORIES distinct ones. */
export const OTHER_CATEGORY = '(other)';

/** A value as the logger extracts it from a tensor row: missing values are null. */
export type CellValue = number | string | null;

/**
 * One column's mergeable summary: a KLL sketch of its numbers, counts of its (capped) distinct
 * values for categorical statistics, and its missing count. Memory is bounded whatever the traffic.
 */
export class ColumnSummary {
  sketch: KllSketch | null = null;
  readonly counts = new Map<string | number, number>();
  /** True once a new value was lumped under OTHER_CATEGORY. */
  overflow = false;
  missing = 0;
  /** Non-missing values seen. */
  present = 0;

  /** Adds one value; NaN and null count as missing. */
  add(v: CellValue): void {
    // biome-ignore lint/suspicious/noSelfCompare: v !== v is the fast NaN test
    if (v === null || v !== v) {
      this.missing++;
      return;
    }
    this.present++;
    if (typeof v === 'number') {
      this.sketch ??= new KllSketch();
      this.sketch.update(v);
      // past 256 distinct numbers the column is numerical whatever else comes: counts are moot
      if (this.overflow) return;
    }
    const c = this.counts.get(v);
    if (c !== undefined) this.counts.set(v, c + 1);
    else if (this.counts.size < MAX_TRACKED_CATEGORIES) this.counts.set(v, 1);
    else {
      this.overflow = true;
      this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + 1);
    }
  }

  /** Adds another summary into this one. */
  merge(o: ColumnSummary): void {
    if (o.sketch !== null) {
      if (this.sketch === null) this.sketch = o.sketch.clone();
      else this.sketch.merge(o.sketch);
    }
    for (const [k, n] of o.counts) {
      const c = this.counts.get(k);
      if (c !== undefined) this.counts.set(k, c + n);
      else if (this.counts.size < MAX_TRACKED_CATEGORIES || k === OTHER_CATEGORY) this.counts.set(k, n);
      else {
        this.overflow = true;
        this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + n);
      }
    }
    this.overflow ||= o.overflow;
    this.missing += o.missing;
    this.present += o.present;
  }

  /** Category counts keyed as the offline report keys them (numbers by their String form). */
  categoryCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, n] of this.counts) {
      const key = String(k);
      out.set(key, (out.get(key) ?? 0) + n);
    }
    return out;
  }
}

/** Delayed-label accumulators: a confusion count for classes, error sums for regression. */
export class PerformanceSummary {
  /** `${prediction}\u0000${label}` -> count. */
  readonly confusion = new Map<string, number>();
  labeled = 0;
  absError = 0;
  sqError = 0;
  numeric = 0;

  /** Adds one labeled prediction. */
  add(prediction: CellValue, label: string | number): void {
    this.labeled++;
    const key = `${String(prediction)}\u0000${String(label)}`;
    this.confusion.set(key, (this.confusion.get(key) ?? 0) + 1);
    const p = typeof prediction === 'number' ? prediction : Number(prediction);
    const l = typeof label === 'number' ? label : Number(label);
    if (prediction !== null && Number.isFinite(p) && Number.isFinite(l)) {
      this.numeric++;
      this.absError += Math.abs(p - l);
      this.sqError += (p - l) ** 2;
    }
  }

  /** Adds another summary into this one. */
  merge(o: PerformanceSummary): void {
    for (const [k, n] of o.confusion) this.confusion.set(k, (this.confusion.get(k) ?? 0) + n);
    this.labeled += o.labeled;
    this.absError += o.absError;
    this.sqError += o.sqError;
    this.numeric += o.numeric;
  }
}

/** Everything one time bucket of one model version accumulates. */
export class BucketSummary {
  rows = 0;
  requests = 0;
  errors = 0;
  readonly columns: ColumnSummary[];
  readonly prediction = new ColumnSummary();
  readonly latency = new KllSketch();
  readonly performance = new PerformanceSummary();

  constructor(
    readonly start: number,
    columnCount: number,
  ) {
    this.columns = Array.from({ length: columnCount }, () => new ColumnSummary());
  }

  /** Adds another bucket into this one (column lists must match). */
  merge(o: BucketSummary): void {
    this.rows += o.rows;
    this.requests += o.requests;
    this.errors += o.errors;
    o.columns.forEach((c, i) => {
      this.columns[i]?.merge(c);
    });
    this.prediction.merge(o.prediction);
    this.latency.merge(o.latency);
    this.performance.merge(o.performance);
  }
}

/**
 * Input columns a version's window summarizes: all of them when it has a reference dataset to
 * compare with, none otherwise (drift needs the reference; the prediction and latency are kept either
 * way). Summarizing 512 input columns of a model without a reference cost a third of its throughput.
 */
export function summarizedColumns(mv: { reference: unknown }, features: number): number {
  return mv.reference ? features : 0;
}

/**
 * A sliding time window as a ring of sub-buckets: adding is O(1) into the current bucket, and the
 * window is the merge of the buckets that are still inside it. Memory: `buckets` summaries.
 */
export class SlidingWindow {
  private readonly ring: BucketSummary[] = [];
  readonly bucketMs: number;

  constructor(
    readonly windowMs: number,
    readonly buckets: number,
    readonly columnCount: number,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
  }

  /** The bucket that holds time t (created when needed; times older than the window are dropped). */
  bucketAt(t: number): BucketSummary | undefined {
    const start = t - (t % this.bucketMs);
    const last = this.ring[this.ring.length - 1];
    if (last !== undefined && last.start === start) return last;
    if (last !== undefined && start < last.start) {
      // out of order: find its bucket, or drop it if it has left the window
      for (let i = this.ring.length - 1; i >= 0; i--) if ((this.ring[i] as BucketSummary).start === start) return this.ring[i];
      return undefined;
    }
    const b = new BucketSummary(start, this.columnCount);
    this.ring.push(b);
    this.expire(t);
    return b;
  }

  private expire(now: number): void {
    while (this.ring.length > 0 && (this.ring[0] as BucketSummary).start + this.bucketMs <= now - this.windowMs) this.ring.shift();
  }

  /** The buckets that overlap the last `spanMs` (default: the whole window), oldest first. */
  recent(now: number, spanMs = this.windowMs): BucketSummary[] {
    this.expire(now);
    return this.ring.filter((b) => b.start + this.bucketMs > now - spanMs);
  }

  /** The merged summary of the last `spanMs`. */
  merged(now: number, spanMs = this.windowMs): BucketSummary {
    const out = new BucketSummary(now - spanMs, this.columnCount);
    for (const b of this.recent(now, spanMs)) out.merge(b);
    return out;
  }
}
