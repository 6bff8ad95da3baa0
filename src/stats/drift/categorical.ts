import { createRequire } from 'node:module';
import type { TestResult } from './ks.js';

type GammaInc = (x: number, s: number, regularized: boolean, upper: boolean) => number;
// Loaded on first use: @stdlib pulls in ~100 small CommonJS modules (~80 ms of start-up), and only
// chi2 needs it, not the drift workers nor `auto` reports on large data.
let gammainc: GammaInc | undefined;
const load = (): GammaInc => {
  gammainc ??= createRequire(import.meta.url)('@stdlib/math-base-special-gammainc') as GammaInc;
  return gammainc;
};

/** Upper tail of the chi-squared distribution, P(X >= x) with `dof` degrees of freedom. */
export function chi2Sf(x: number, dof: number): number {
  if (x <= 0) return 1;
  return load()(x / 2, dof / 2, true, true);
}

/**
 * Chi-squared test of homogeneity on the 2 x k table of category counts, without continuity
 * correction (`scipy.stats.chi2_contingency(correction=False)`). Categories absent from both rows must
 * have been dropped; with one category the test is degenerate (statistic 0, p 1), as in scipy.
 */
export function chi2Homogeneity(reference: ArrayLike<number>, current: ArrayLike<number>): TestResult {
  const k = reference.length;
  if (current.length !== k) throw new RangeError('chi2Homogeneity needs rows of equal length');
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < k; i++) {
    nr += reference[i] as number;
    nc += current[i] as number;
  }
  const total = nr + nc;
  if (nr === 0 || nc === 0) throw new RangeError('chi2Homogeneity needs two non-empty samples');
  if (k <= 1) return { statistic: 0, pValue: 1 };
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const col = (reference[i] as number) + (current[i] as number);
    const er = (nr * col) / total;
    const ec = (nc * col) / total;
    stat += ((reference[i] as number) - er) ** 2 / er + ((current[i] as number) - ec) ** 2 / ec;
  }
  return { statistic: stat, pValue: chi2Sf(stat, k - 1) };
}

/**
 * Jensen–Shannon distance (natural log) between two count vectors normalised to frequencies:
 * sqrt((KL(p‖m) + KL(q‖m)) / 2) with m = (p + q) / 2, as `scipy.spatial.distance.jensenshannon`.
 */
export function jensenShannon(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < reference.length; i++) nr += reference[i] as number;
  for (let i = 0; i < current.length; i++) nc += current[i] as number;
  if (nr === 0 || nc === 0) throw new RangeError('jensenShannon needs two non-empty samples');
  let js = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = (reference[i] as number) / nr;
    const q = (current[i] as number) / nc;
    const m = (p + q) / 2;
    if (p > 0) js += p * Math.log(p / m);
    if (q > 0) js += q * Math.log(q / m);
  }
  return Math.sqrt(Math.max(js, 0) / 2);
}
