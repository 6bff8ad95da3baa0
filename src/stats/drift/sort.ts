/**
 * Sorts a Float64Array ascending; use the returned array (it may be a new one, and the input is then
 * left in an unspecified order). Large arrays go through one counting pass into ~n/4
 * equal-width buckets over [min, max], then each bucket is finished with an insertion sort (or the
 * built-in sort when a bucket is large, so skewed data degrades to `Float64Array.prototype.sort`, never
 * worse; a crowded bucket is bucketed again over its own range, a few levels deep, which keeps heavy
 * tails fast). On smooth data this is several times faster than the built-in sort. NaN must have been removed.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  return bucketSort(values, 0);
}

const MAX_DEPTH = 3;

/**
 * Scratch space of the top level, kept between calls (one set per thread): a fresh 8 MB array per
 * sorted column costs more in page faults and collection than the sort's own scatter pass. Columns
 * above SCRATCH_MAX values get arrays of their own rather than pinning that much memory.
 */
const SCRATCH_MAX = 1 << 21;
let scratchOut = new Float64Array(0);
let scratchStarts = new Uint32Array(0);
let scratchNext = new Uint32Array(0);

function bucketSort(values: Float64Array, depth: number): Float64Array {
  const n = values.length;
  if (n < 4096 || depth > MAX_DEPTH) return values.sort();
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return values; // constant
  const width = max - min;
  if (!Number.isFinite(width)) return values.sort();
  const buckets = n >>> 2;
  const scale = buckets / width;
  const reuse = depth === 0 && n <= SCRATCH_MAX;
  if (reuse && scratchOut.length < n) {
    scratchOut = new Float64Array(n);
    scratchStarts = new Uint32Array(buckets + 1);
    scratchNext = new Uint32Array(buckets);
  }
  const starts = reuse ? scratchStarts.subarray(0, buckets + 1).fill(0) : new Uint32Array(buckets + 1);
  for (let i = 0; i < n; i++) {
    const b = Math.min(Math.floor(((values[i] as number) - min) * scale), buckets - 1);
    starts[b + 1] = (starts[b + 1] as number) + 1;
  }
  for (let b = 0; b < buckets; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
  const next = reuse ? scratchNext.subarray(0, buckets) : new Uint32Array(buckets);
  next.set(starts.subarray(0, buckets));
  const out = reuse ? scratchOut.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = Math.min(Math.floor(((values[i] as number) - min) * scale), buckets - 1);
    const at = next[b] as number;
    out[at] = values[i] as number;
    next[b] = at + 1;
  }
  for (let b = 0; b < buckets; b++) {
    const lo = starts[b] as number;
    const hi = starts[b + 1] as number;
    const len = hi - lo;
    if (len < 2) continue;
    if (len > 48) {
      bucketSort(out.subarray(lo, hi), depth + 1);
      continue;
    }
    for (let i = lo + 1; i < hi; i++) {
      const v = out[i] as number;
      let j = i - 1;
      while (j >= lo && (out[j] as number) > v) {
        out[j + 1] = out[j] as number;
        j--;
      }
      out[j + 1] = v;
    }
  }
  if (depth > 0 || reuse) {
    values.set(out); // a bucket of the level above, or the scratch: the result goes back in place
    return values;
  }
  return out;
}
