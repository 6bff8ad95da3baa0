/**
 * Sorts a Float64Array ascending, in place, into exactly the order of `Float64Array.prototype.sort`
 * (-0 before +0 included); returns the same array. NaN must have been removed. Large arrays go
 * through a two-level bucket sort (see `bucketSort`), several times faster than the built-in sort on
 * smooth data; skewed or tied data falls back to the built-in sort bucket by bucket, so it is never
 * much slower.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  bucketSort(values, 0);
  return values;
}

/** Below this many values the built-in sort wins. */
const MIN_BUCKETED = 4096;
/** Values per coarse bin on average: a bin (16 KB) stays in cache, and the coarse scatter writes to few places at once. */
const BIN_TARGET = 2048;
/** A coarse bin this crowded (a spike in the data) is bucket-sorted again over its own range. */
const CROWDED_BIN = 1 << 15;
/** Fine buckets above this size get the built-in sort, which bounds the insertion sort's work. */
const SMALL_BUCKET = 32;
const MAX_DEPTH = 3;

/**
 * Scratch space of the top level, kept between calls (one set per thread): a fresh 8 MB array per
 * sorted column costs more in page faults and collection than a pass of the sort. Columns above
 * SCRATCH_MAX values get arrays of their own rather than pinning that much memory.
 */
const SCRATCH_MAX = 1 << 21;
let scratch = new Float64Array(0);
let fineScratch = new Int32Array(0);

/**
 * Why two levels: one scatter of 1M values straight into n/4 buckets writes all over 8 MB and reads
 * and bumps a 1 MB cursor array at random; on normal data the central buckets hold ~16 values each,
 * so their insertion sorts are long too. Here the values go first into ~n/2048 equal-width coarse
 * bins (a streaming scatter, like one radix pass), then each bin,
 * now in cache, is scattered into as many equal-width fine buckets as it has values (about one value
 * each: the bins are narrow, so the data is nearly uniform inside one) straight back into `values`.
 * Bucket order is value order, so an insertion sort of the bin finishes it, and it only ever moves a
 * value within its own small bucket.
 */
function bucketSort(values: Float64Array, depth: number): void {
  const n = values.length;
  if (n < MIN_BUCKETED || depth > MAX_DEPTH) {
    values.sort();
    return;
  }
  // Range of the finite values (infinities clamp into the outer bins), and how many -0 there are.
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let negativeZeros = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v < min && v !== Number.NEGATIVE_INFINITY) min = v;
    if (v > max && v !== Number.POSITIVE_INFINITY) max = v;
    if (v === 0 && 1 / v < 0) negativeZeros++;
  }
  const bins = Math.floor(n / BIN_TARGET);
  const scale = bins / (max - min);
  if (!(max > min) || !Number.isFinite(scale) || !(scale > 0)) {
    // constant, all infinite, or a range too wide for doubles
    if (max === min && negativeZeros === 0 && min !== Number.POSITIVE_INFINITY) {
      let constant = true;
      for (let i = 0; i < n && constant; i++) constant = values[i] === min;
      if (constant) return;
    }
    values.sort();
    return;
  }
  // x = (v - min)·scale in [0, bins]: monotone in v, so bin and bucket order is value order.
  // `| 0` truncates (floor, x being >= 0) and sends -Infinity to 0; +Infinity was clamped to `bins`.
  const binStart = new Int32Array(bins + 1);
  for (let i = 0; i < n; i++) {
    const x = Math.min(((values[i] as number) - min) * scale, bins);
    const k = Math.min(x | 0, bins - 1);
    binStart[k + 1] = (binStart[k + 1] as number) + 1;
  }
  for (let k = 0; k < bins; k++) binStart[k + 1] = (binStart[k + 1] as number) + (binStart[k] as number);
  const binNext = binStart.slice(0, bins);
  const reuse = depth === 0 && n <= SCRATCH_MAX;
  if (reuse && scratch.length < n) scratch = new Float64Array(n);
  const out = reuse ? scratch : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    const x = Math.min((v - min) * scale, bins);
    const k = Math.min(x | 0, bins - 1);
    const at = binNext[k] as number;
    out[at] = v;
    binNext[k] = at + 1;
  }
  for (let k = 0; k < bins; k++) {
    const lo = binStart[k] as number;
    const hi = binStart[k + 1] as number;
    const len = hi - lo;
    if (len <= 1) {
      if (len === 1) values[lo] = out[lo] as number;
    } else if (len > CROWDED_BIN) {
      const part = values.subarray(lo, hi);
      part.set(out.subarray(lo, hi));
      bucketSort(part, depth + 1);
    } else {
      fineScatter(out, values, lo, hi, min, scale, bins, k);
      insertionSort(values, lo, hi); // while the bin is still in cache
    }
  }
  if (negativeZeros > 0) orderZeros(values, negativeZeros);
}

/** Scatters out[lo, hi) (coarse bin k) into `len` fine buckets of values[lo, hi); sorts crowded buckets. */
function fineScatter(out: Float64Array, values: Float64Array, lo: number, hi: number, min: number, scale: number, bins: number, k: number): void {
  const len = hi - lo;
  if (fineScratch.length < len + 1) fineScratch = new Int32Array(len + 1);
  const next = fineScratch;
  next.fill(0, 0, len + 1);
  // Within bin k, x - k is exact (Sterbenz) and in [0, 1]; the bucket is its share of `len`.
  for (let i = lo; i < hi; i++) {
    const x = Math.min(((out[i] as number) - min) * scale, bins);
    const f = Math.min(((x - k) * len) | 0, len - 1);
    next[f + 1] = (next[f + 1] as number) + 1;
  }
  let crowded = false;
  let sum = lo;
  for (let f = 0; f < len; f++) {
    const c = next[f + 1] as number;
    if (c > SMALL_BUCKET) crowded = true;
    next[f] = sum;
    sum += c;
  }
  for (let i = lo; i < hi; i++) {
    const v = out[i] as number;
    const x = Math.min((v - min) * scale, bins);
    const f = Math.min(((x - k) * len) | 0, len - 1);
    const at = next[f] as number;
    values[at] = v;
    next[f] = at + 1;
  }
  if (!crowded) return;
  // next[f] is now the end of bucket f, and the start of bucket f + 1
  let start = lo;
  for (let f = 0; f < len; f++) {
    const end = next[f] as number;
    if (end - start > SMALL_BUCKET) values.subarray(start, end).sort();
    start = end;
  }
}

/** Insertion sort of values[lo, hi); cheap because every value is already within its small bucket. */
function insertionSort(values: Float64Array, lo: number, hi: number): void {
  let prev = values[lo] as number;
  for (let i = lo + 1; i < hi; i++) {
    const v = values[i] as number;
    if (prev > v) {
      let j = i - 1;
      do {
        values[j + 1] = values[j] as number;
        j--;
      } while (j >= lo && (values[j] as number) > v);
      values[j + 1] = v;
    } else {
      prev = v;
    }
  }
}

/** Puts the -0s first in the run of zeros of a sorted array, as the built-in sort orders them. */
function orderZeros(values: Float64Array, negativeZeros: number): void {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < lo + negativeZeros; i++) values[i] = -0;
  for (let i = lo + negativeZeros; i < values.length && values[i] === 0; i++) values[i] = 0;
}
