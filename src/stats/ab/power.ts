import { errors } from '../../errors.js';
import { phi, phiInv } from './dist.js';

/** Inputs of a sample-size plan for two proportions (mde absolute: treatment = baseline + mde). */
export interface ProportionPlan {
  baseline: number;
  mde: number;
  alpha?: number;
  power?: number;
}

/** Cohen's h effect size between two proportions: 2·asin(√p₁) − 2·asin(√p₂). */
export function cohenH(p1: number, p2: number): number {
  return 2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2));
}

/**
 * Power of a two-sided two-sample z-test with standardized effect d and n per arm:
 * Φ(d·√(n/2) − z₁₋α/₂) + Φ(−d·√(n/2) − z₁₋α/₂) (statsmodels' NormalIndPower, ratio 1).
 */
export function powerTwoSample(d: number, nPerArm: number, alpha: number): number {
  const crit = phiInv(1 - alpha / 2);
  const shift = Math.abs(d) * Math.sqrt(nPerArm / 2);
  return phi(shift - crit) + phi(-shift - crit);
}

function checkLevels(alpha: number, power: number): void {
  if (!(alpha > 0 && alpha < 1)) throw errors.badRequest(`alpha must be between 0 and 1, got ${alpha}`, 'alpha');
  if (!(power > alpha && power < 1)) {
    throw errors.badRequest(`power must be between alpha (${alpha}) and 1, got ${power}`, 'power');
  }
}

/**
 * Exact (real-valued) n per arm at which the two-sided two-sample z-test with standardized effect d
 * reaches `power`: starts from n = 2·((z₁₋α/₂ + z_power)/d)² and solves the power equation (both
 * tails) by bisection, as statsmodels' NormalIndPower.solve_power does.
 */
export function solveSampleSize(d: number, alpha: number, power: number): number {
  checkLevels(alpha, power);
  const e = Math.abs(d);
  if (!(e > 0 && Number.isFinite(e))) throw errors.badRequest(`the effect size must be non-zero, got ${d}`, 'mde');
  const approx = 2 * ((phiInv(1 - alpha / 2) + phiInv(power)) / e) ** 2;
  let lo = approx * 0.5;
  let hi = approx * 1.5;
  while (powerTwoSample(e, hi, alpha) < power) hi *= 2;
  while (lo > 1e-12 && powerTwoSample(e, lo, alpha) > power) lo /= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-10 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (powerTwoSample(e, mid, alpha) < power) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Sample size per arm for a two-proportion test: Cohen's h between baseline + mde and baseline,
 * then n solving the power equation of the two-sided z-test (NormalIndPower with
 * proportion_effectsize), rounded up.
 */
export function sampleSizeTwoProportions(plan: ProportionPlan): number {
  const { baseline, mde } = plan;
  const alpha = plan.alpha ?? 0.05;
  const power = plan.power ?? 0.8;
  if (!(baseline > 0 && baseline < 1)) {
    throw errors.badRequest(`baseline must be a proportion strictly between 0 and 1, got ${baseline}`, 'baseline');
  }
  if (!(Number.isFinite(mde) && mde !== 0)) throw errors.badRequest(`mde must be a non-zero number, got ${mde}`, 'mde');
  const target = baseline + mde;
  if (!(target > 0 && target < 1)) {
    throw errors.badRequest(
      `baseline + mde must stay strictly between 0 and 1 (mde is absolute), got ${baseline} + ${mde} = ${target}`,
      'mde',
    );
  }
  return Math.ceil(solveSampleSize(cohenH(target, baseline), alpha, power) - 1e-9);
}

/** Sample size per arm for a difference in means of `mde` with per-unit standard deviation `std`, rounded up. */
export function sampleSizeMeans(plan: { std: number; mde: number; alpha?: number; power?: number }): number {
  if (!(plan.std > 0 && Number.isFinite(plan.std))) throw errors.badRequest(`std must be positive, got ${plan.std}`, 'std');
  if (!(Number.isFinite(plan.mde) && plan.mde !== 0)) {
    throw errors.badRequest(`mde must be a non-zero number, got ${plan.mde}`, 'mde');
  }
  return Math.ceil(solveSampleSize(plan.mde / plan.std, plan.alpha ?? 0.05, plan.power ?? 0.8) - 1e-9);
}
