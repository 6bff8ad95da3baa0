/**
 * KLL quantile sketch (Karnin, Lang, Liberty 2016), after the reference implementation in
 * edoliberty/streaming-quantiles. Mergeable, bounded (about 3k retained values) and cheap to update.
 *
 * Error bound: with k = 200 the rank of any value estimated from the sketch is within 1.65% of n of
 * its true rank with 99% confidence (Apache DataSketches' measured single-sketch bound for k = 200);
 * test/monitor/live-sketch.test.ts checks the rank error against exact quantiles. For drift this bounds
 * the KS statistic: |D_sketch − D_exact| <= ε_reference + ε_current.
 */
export const KLL_DEFAULT_K = 200;
/** The normalised rank error stated for k = 200 (99% confidence). */
export const KLL_RANK_ERROR = 0.0165;

const C = 2 / 3;

/** A small seeded PRNG: the sketch is deterministic for a given seed, which tests need. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s & 1;
  };
}

let scratch = new Float64Array(256);

/**
 * The values of a level, sorted ascending as Float64Array#sort sorts them (-0 before +0), in a scratch
 * array that the caller reads before the next call. Most compactions sort a handful of values: those
 * are insertion-sorted in place rather than copied into a new typed array each time.
 */
function sortedCopy(level: number[]): Float64Array {
  const n = level.length;
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  const a = scratch;
  if (n > 32) {
    // a typed array sorts numbers natively, several times faster than a comparator on a plain array
    for (let i = 0; i < n; i++) a[i] = level[i] as number;
    return a.subarray(0, n).sort();
  }
  for (let i = 0; i < n; i++) {
    const v = level[i] as number;
    let j = i - 1;
    while (j >= 0 && before(v, a[j] as number)) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

/** a sorts before b (1/-0 is -Infinity: -0 before +0, as typed arrays sort). */
const before = (a: number, b: number): boolean => a < b || (a === 0 && b === 0 && 1 / a < 1 / b);

/** A KLL sketch of numbers; `count` is exact, quantiles and ranks are approximate. */
export class KllSketch {
  /** compactors[h] holds values of weight 2^h. */
  private compactors: number[][] = [[]];
  private size = 0;
  private maxSize = 0;
  private readonly coin: () => number;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(
    readonly k = KLL_DEFAULT_K,
    seed = 1,
  ) {
    this.coin = xorshift(seed);
    this.recap();
  }

  /** Level capacities, recomputed when a level is added (compress runs every few updates: no pow there). */
  private caps: number[] = [];

  private capacity(h: number): number {
    const depth = this.compactors.length - h - 1;
    return Math.ceil(C ** depth * this.k) + 1;
  }

  private recap(): void {
    this.caps = this.compactors.map((_, h) => this.capacity(h));
    let total = 0;
    for (const c of this.caps) total += c;
    this.maxSize = total;
  }

  private grow(): void {
    this.compactors.push([]);
    this.recap();
  }

  /** Adds one value (NaN must be filtered by the caller). */
  update(x: number): void {
    (this.compactors[0] as number[]).push(x);
    this.count++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    if (++this.size >= this.maxSize) this.compress();
  }

  private compress(): void {
    for (let h = 0; h < this.compactors.length; h++) {
      const level = this.compactors[h] as number[];
      if (level.length < (this.caps[h] as number)) continue;
      if (h + 1 >= this.compactors.length) this.grow();
      const n = level.length;
      const sorted = sortedCopy(level);
      // Keep every other value (odd or even positions by a coin flip) at twice the weight.
      const next = this.compactors[h + 1] as number[];
      const even = n - (n % 2);
      for (let i = this.coin(); i < even; i += 2) next.push(sorted[i] as number);
      level.length = 0;
      if (even < n) level.push(sorted[even] as number);
      break;
    }
    let size = 0;
    for (const c of this.compactors) size += c.length;
    this.size = size;
    if (this.size >= this.maxSize) this.compress();
  }

  /** Adds another sketch's values into this one (the other is left unchanged). */
  merge(other: KllSketch): void {
    while (this.compactors.length < other.compactors.length) this.grow();
    for (let h = 0; h < other.compactors.length; h++) {
      for (const v of other.compactors[h] as number[]) (this.compactors[h] as number[]).push(v);
    }
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    let size = 0;
    for (const c of this.compactors) size += c.length;
    this.size = size;
    if (this.size >= this.maxSize) this.compress();
  }

  /** A copy (windows merge copies so their buckets stay intact). */
  clone(): KllSketch {
    const c = new KllSketch(this.k, 1);
    c.compactors = this.compactors.map((l) => l.slice());
    c.recap();
    c.size = this.size;
    c.maxSize = this.maxSize;
    c.count = this.count;
    c.min = this.min;
    c.max = this.max;
    return c;
  }

  /** Retained values, sorted, with their weights (which sum to `count`). */
  weighted(): { values: Float64Array; weights: Float64Array } {
    const pairs: [number, number][] = [];
    this.compactors.forEach((level, h) => {
      const w = 2 ** h;
      for (const v of level) pairs.push([v, w]);
    });
    pairs.sort((a, b) => a[0] - b[0]);
    const values = new Float64Array(pairs.length);
    const weights = new Float64Array(pairs.length);
    pairs.forEach(([v, w], i) => {
      values[i] = v;
      weights[i] = w;
    });
    return { values, weights };
  }

  /** Approximate q-quantile (0 <= q <= 1): the smallest retained value whose weighted rank reaches q·n. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const { values, weights } = this.weighted();
    let total = 0;
    for (const w of weights) total += w;
    const target = q * total;
    let cum = 0;
    for (let i = 0; i < values.length; i++) {
      cum += weights[i] as number;
      if (cum >= target) return values[i] as number;
    }
    return values[values.length - 1] as number;
  }

  /**
   * A sorted sample standing for the sketched data: every retained value repeated by its weight when
   * `count` <= maxPoints (so tests see the true n), else maxPoints evenly spaced quantiles.
   */
  sample(maxPoints: number): Float64Array {
    const { values, weights } = this.weighted();
    let total = 0;
    for (const w of weights) total += w;
    const n = Math.min(total, maxPoints);
    const out = new Float64Array(n);
    if (n === 0) return out;
    if (total <= maxPoints) {
      let o = 0;
      for (let i = 0; i < values.length; i++) for (let w = 0; w < (weights[i] as number); w++) out[o++] = values[i] as number;
      return out;
    }
    // the value at rank (j + 0.5) / n of the weighted distribution, for j = 0..n-1
    let cum = 0;
    let i = 0;
    for (let j = 0; j < n; j++) {
      const target = ((j + 0.5) / n) * total;
      while (i < values.length - 1 && cum + (weights[i] as number) < target) cum += weights[i++] as number;
      out[j] = values[i] as number;
    }
    return out;
  }
}
