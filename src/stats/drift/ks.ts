import { kolmogorovSf } from './kolmogorov.js';

/** Result of a two-sample test. */
export interface TestResult {
  statistic: number;
  pValue: number;
}

/** Largest sample size for which `ks2Samp` computes the exact distribution (scipy's MAX_AUTO_N). */
export const KS_EXACT_MAX_N = 10_000;

/** numpy's np.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * max over all data points v of |#{a <= v}·n2 − #{b <= v}·n1|, an exact integer: D is this over n1·n2.
 * Both inputs must be sorted ascending and free of NaN.
 */
function maxEcdfGap(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && (a[i] as number) <= (b[j] as number)) ? (a[i] as number) : (b[j] as number);
    while (i < n1 && (a[i] as number) <= v) i++;
    while (j < n2 && (b[j] as number) <= v) j++;
    const gap = Math.abs(i * n2 - j * n1);
    if (gap > best) best = gap;
  }
  return best;
}

/** P(D_{n,n} >= h/n) for equal sample sizes: alternating sum of binomial ratios, Horner-style. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let a = 1;
    for (let j = 0; j < h; j++) a = ((n - k * h - j) * a) / (n + k * h + j + 1);
    p = a * (1 - p);
  }
  return 2 * p;
}

/**
 * P(D >= h/lcm) for unequal sizes: the share of monotone lattice paths from (0,0) to (m,n) that touch
 * |i·n/g − j·m/g| >= h. Propagated as probabilities, so nothing overflows: Q(i,j) = (i·Q(i−1,j) +
 * j·Q(i,j−1)) / (i+j), with Q = 1 outside the band.
 */
function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  const col = new Float64Array(n + 1).fill(1);
  const inBand = (i: number, j: number): boolean => Math.abs(i * ng - j * mg) < h;
  for (let j = 0; j <= n && inBand(0, j); j++) col[j] = 0;
  let prevLo = 0;
  for (let i = 1; i <= m; i++) {
    const lo = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    const hi = Math.min(Math.ceil((ng * i + h) / mg) - 1, n);
    if (hi < lo) return 1;
    for (let j = prevLo; j < lo; j++) col[j] = 1;
    let down = lo === 0 ? 0 : 1; // Q(i, lo-1): outside the band, or no such point
    for (let j = lo; j <= hi; j++) {
      const q = j === 0 ? (col[0] as number) : (i * (col[j] as number) + j * down) / (i + j);
      col[j] = q;
      down = q;
    }
    prevLo = lo;
  }
  return col[n] as number;
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test on sorted samples, as `scipy.stats.ks_2samp(method='auto')`:
 * the exact distribution while both samples have at most 10,000 values, `kstwo.sf(D, round(m·n/(m+n)))` beyond.
 */
export function ks2Samp(sortedA: Float64Array, sortedB: Float64Array): TestResult {
  const n1 = sortedA.length;
  const n2 = sortedB.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2Samp needs two non-empty samples');
  const gap = maxEcdfGap(sortedA, sortedB);
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = Math.round(gap / g);
    const d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1 };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    if (p >= 0 && p <= 1) return { statistic: d, pValue: p };
  }
  const d = gap / (n1 * n2);
  const en = (n1 * n2) / (n1 + n2);
  return { statistic: d, pValue: Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven(en), d))) };
}
