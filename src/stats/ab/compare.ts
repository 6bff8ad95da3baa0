import { errors } from '../../errors.js';
import { chiSquaredUpper, normalTwoSided, phiInv, studentQuantile, studentTwoSided } from './dist.js';
import type { ArmSummary } from './summary.js';

/** The test behind a comparison, as it appears in reports. */
export type TestName = 'two-proportion-z' | 'welch-t';

/** A variant compared with the control; `difference` is variant minus control. */
export interface TestResult {
  test: TestName;
  difference: number;
  /** Confidence interval of the difference at level 1 - alpha. */
  ci_low: number;
  ci_high: number;
  /** z or t; its sign follows `difference`. */
  statistic: number;
  p_value: number;
  significant: boolean;
  /** Welch–Satterthwaite degrees of freedom (welch-t only). */
  df?: number;
  /** Unpooled variance of the difference (se²): what the sequential test consumes. */
  variance: number;
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw errors.badRequest(`alpha must be between 0 and 1, got ${alpha}`, 'alpha');
}

function checkArm(arm: ArmSummary, min: number, field: string, test: string): void {
  if (!Number.isInteger(arm.n) || arm.n < min) {
    throw errors.badRequest(`${test} needs at least ${min} observation(s) per arm, got ${arm.n}`, field);
  }
}

/**
 * Two-proportion z-test of variant vs control (arms' means are the proportions): the statistic and
 * p-value use the pooled variance under H0; the interval is the unpooled Wald interval.
 */
export function twoProportionZTest(control: ArmSummary, variant: ArmSummary, alpha = 0.05): TestResult {
  checkAlpha(alpha);
  checkArm(control, 1, 'control', 'the two-proportion z-test');
  checkArm(variant, 1, 'variant', 'the two-proportion z-test');
  const p0 = control.mean;
  const p1 = variant.mean;
  for (const [p, field] of [
    [p0, 'control'],
    [p1, 'variant'],
  ] as const) {
    if (!(p >= 0 && p <= 1)) throw errors.badRequest(`a proportion must be within [0, 1], got ${p}`, field);
  }
  const difference = p1 - p0;
  const pooled = (p0 * control.n + p1 * variant.n) / (control.n + variant.n);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / variant.n));
  // Every observation equal (all 0 or all 1): no evidence of any difference.
  const statistic = sePooled > 0 ? difference / sePooled : 0;
  const p_value = sePooled > 0 ? normalTwoSided(statistic) : 1;
  const variance = (p0 * (1 - p0)) / control.n + (p1 * (1 - p1)) / variant.n;
  const half = phiInv(1 - alpha / 2) * Math.sqrt(variance);
  return {
    test: 'two-proportion-z',
    difference,
    ci_low: difference - half,
    ci_high: difference + half,
    statistic,
    p_value,
    significant: p_value < alpha,
    variance,
  };
}

/** Welch's t-test of variant vs control, with Welch–Satterthwaite degrees of freedom for p and interval. */
export function welchTTest(control: ArmSummary, variant: ArmSummary, alpha = 0.05): TestResult {
  checkAlpha(alpha);
  checkArm(control, 2, 'control', "Welch's t-test");
  checkArm(variant, 2, 'variant', "Welch's t-test");
  const a = (control.std * control.std) / control.n;
  const b = (variant.std * variant.std) / variant.n;
  const variance = a + b;
  const difference = variant.mean - control.mean;
  if (variance === 0) {
    if (difference !== 0) {
      throw errors.badRequest(
        "Welch's t-test is undefined: the values do not vary within either arm but differ between them",
        'value',
      );
    }
    const df = control.n + variant.n - 2;
    return { test: 'welch-t', difference, ci_low: 0, ci_high: 0, statistic: 0, p_value: 1, significant: false, df, variance };
  }
  const se = Math.sqrt(variance);
  const df = (variance * variance) / ((a * a) / (control.n - 1) + (b * b) / (variant.n - 1));
  const statistic = difference / se;
  const p_value = studentTwoSided(statistic, df);
  const half = studentQuantile(1 - alpha / 2, df) * se;
  return {
    test: 'welch-t',
    difference,
    ci_low: difference - half,
    ci_high: difference + half,
    statistic,
    p_value,
    significant: p_value < alpha,
    df,
    variance,
  };
}

/** Result of the sample-ratio-mismatch check. */
export interface SrmResult {
  statistic: number;
  df: number;
  p_value: number;
}

/**
 * Sample-ratio mismatch: chi-squared goodness-of-fit of the arms' counts against the intended split
 * (weights in the same order; any positive scale, equal when omitted).
 */
export function sampleRatioMismatch(counts: number[], weights?: number[]): SrmResult {
  if (counts.length < 2) throw errors.badRequest(`the SRM check needs at least 2 arms, got ${counts.length}`, 'counts');
  const w = weights ?? counts.map(() => 1);
  if (w.length !== counts.length) {
    throw errors.badRequest(`split has ${w.length} weight(s) but there are ${counts.length} arms`, 'split');
  }
  if (w.some((x) => !(Number.isFinite(x) && x > 0))) {
    throw errors.badRequest(`split weights must be positive numbers, got ${w.join(',')}`, 'split');
  }
  if (counts.some((c) => !(Number.isInteger(c) && c >= 0))) {
    throw errors.badRequest(`arm counts must be non-negative integers, got ${counts.join(',')}`, 'counts');
  }
  const total = counts.reduce((s, c) => s + c, 0);
  const wTotal = w.reduce((s, x) => s + x, 0);
  const df = counts.length - 1;
  if (total === 0) return { statistic: 0, df, p_value: 1 };
  let statistic = 0;
  counts.forEach((c, i) => {
    const expected = (total * (w[i] ?? 0)) / wTotal;
    statistic += ((c - expected) * (c - expected)) / expected;
  });
  return { statistic, df, p_value: chiSquaredUpper(statistic, df) };
}
