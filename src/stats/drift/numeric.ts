/** Floor applied to bin proportions before the PSI logarithm (as Evidently and most PSI definitions do). */
export const PSI_FLOOR = 0.0001;

/** Population standard deviation (ddof 0), two-pass. */
export function stdDev(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}

/**
 * Wasserstein-1 distance between two sorted samples: the area between their empirical CDFs
 * (`scipy.stats.wasserstein_distance`), in one merge pass.
 */
export function wasserstein1(sortedA: Float64Array, sortedB: Float64Array): number {
  const n1 = sortedA.length;
  const n2 = sortedB.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('wasserstein1 needs two non-empty samples');
  // Walk the merged order (ties: a first); before each value v, |F_a − F_b| on [prev, v) is
  // |d| / (n1·n2) with d = i·n2 − j·n1, an exact integer. Tied values add zero-width steps. The merge
  // goes run by run (all of a up to the next b, then all of b below the next a): the same additions
  // in the same order as a step-by-step merge, without its unpredictable branch per value.
  let i = 0;
  let j = 0;
  let d = 0;
  let area = 0;
  let prev = Math.min(sortedA[0] as number, sortedB[0] as number);
  while (i < n1 && j < n2) {
    const y = sortedB[j] as number;
    while (i < n1) {
      const x = sortedA[i] as number;
      if (!(x <= y)) break;
      area += (d < 0 ? -d : d) * (x - prev);
      prev = x;
      i++;
      d += n2;
    }
    if (i >= n1) break;
    const x = sortedA[i] as number;
    while (j < n2) {
      const v = sortedB[j] as number;
      if (!(x > v)) break;
      area += (d < 0 ? -d : d) * (v - prev);
      prev = v;
      j++;
      d -= n1;
    }
  }
  for (; i < n1; i++) {
    const v = sortedA[i] as number;
    area += (d < 0 ? -d : d) * (v - prev);
    prev = v;
    d += n2;
  }
  for (; j < n2; j++) {
    const v = sortedB[j] as number;
    area += (d < 0 ? -d : d) * (v - prev);
    prev = v;
    d -= n1;
  }
  return area / n1 / n2;
}

/** numpy's default ('linear') quantile of a sorted sample, with numpy's two-sided lerp. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const t = pos - lo;
  const a = sorted[lo] as number;
  if (lo + 1 >= n) return a;
  const b = sorted[lo + 1] as number;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Bin edges for PSI: the reference's quantiles at 0, 0.1, …, 1 (as `np.linspace(0, 1, 11)`),
 * duplicates merged. Bin i holds (e[i-1], e[i]]; the first and last bins are open-ended.
 */
export function decileEdges(sortedRef: Float64Array): number[] {
  const edges: number[] = [];
  for (let k = 0; k <= 10; k++) {
    const e = quantileSorted(sortedRef, k === 10 ? 1 : k * 0.1);
    if (edges.length === 0 || e !== edges[edges.length - 1]) edges.push(e);
  }
  return edges;
}

/** Number of values <= x in a sorted array. */
export function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of a sorted sample in the bins (e[i-1], e[i]], i = 1..k-1, with the outer bins open. */
export function binCounts(sorted: Float64Array, edges: number[]): number[] {
  const bins = Math.max(1, edges.length - 1);
  const counts: number[] = [];
  let below = 0;
  for (let b = 0; b < bins; b++) {
    const upTo = b === bins - 1 ? sorted.length : countAtMost(sorted, edges[b + 1] as number);
    counts.push(upTo - below);
    below = upTo;
  }
  return counts;
}

/** PSI = Σ (c − r)·ln(c / r) over bin proportions, each floored at 0.0001. */
export function psiFromCounts(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < reference.length; i++) nr += reference[i] as number;
  for (let i = 0; i < current.length; i++) nc += current[i] as number;
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max((reference[i] as number) / nr, PSI_FLOOR);
    const c = Math.max((current[i] as number) / nc, PSI_FLOOR);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/** PSI of two sorted numerical samples over the reference's decile bins. */
export function psiNumeric(sortedRef: Float64Array, sortedCur: Float64Array): number {
  if (sortedRef.length === 0 || sortedCur.length === 0) throw new RangeError('psiNumeric needs two non-empty samples');
  const edges = decileEdges(sortedRef);
  return psiFromCounts(binCounts(sortedRef, edges), binCounts(sortedCur, edges));
}
