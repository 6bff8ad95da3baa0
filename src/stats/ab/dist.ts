import gammainc from '@stdlib/math-base-special-gammainc';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

// Upper tails are computed directly (never as 1 - cdf) so that small p-values keep their precision.

/** Standard normal cumulative distribution function. */
export function phi(z: number): number {
  return normalCdf(z, 0, 1);
}

/** Standard normal quantile (inverse cdf). */
export function phiInv(p: number): number {
  return normalQuantile(p, 0, 1);
}

/** Two-sided p-value of a standard normal statistic. */
export function normalTwoSided(z: number): number {
  return Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));
}

/** Two-sided p-value of a Student t statistic with `df` degrees of freedom. */
export function studentTwoSided(t: number, df: number): number {
  return Math.min(1, 2 * tCdf(-Math.abs(t), df));
}

/** Student t quantile with `df` degrees of freedom. */
export function studentQuantile(p: number, df: number): number {
  return tQuantile(p, df);
}

/** Upper tail P(X >= x) of a chi-squared distribution with `df` degrees of freedom. */
export function chiSquaredUpper(x: number, df: number): number {
  if (x <= 0) return 1;
  return gammainc(x / 2, df / 2, true, true);
}
