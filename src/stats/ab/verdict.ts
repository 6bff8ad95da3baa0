import { sampleSizeMeans, sampleSizeTwoProportions } from './power.js';
import type { ArmSummary } from './summary.js';

/** What an experiment's numbers say so far. */
export type VerdictKind = 'treatment_better' | 'treatment_worse' | 'no_difference_detected' | 'keep_running';

/** A verdict, with the sample still needed per arm when it says to keep running. */
export interface Verdict {
  verdict: VerdictKind;
  /** Observations still needed in the smaller arm (keep_running, once the data allow an estimate). */
  remaining_per_arm?: number;
}

/** Inputs of the verdict of one treatment compared with the control. */
export interface VerdictInput {
  /** Treatment mean minus control mean. */
  difference: number;
  /** The p-value the decision rests on; use the always-valid (mSPRT) one when results are watched. */
  pValue: number;
  alpha: number;
  /** Observations so far in the control and the treatment arm. */
  nControl: number;
  nTreatment: number;
  /** Sample size per arm needed to detect the minimum detectable effect with the chosen power. */
  requiredPerArm: number;
  /** Whether a larger metric is better (default true). */
  higherIsBetter?: boolean;
}

/**
 * Better or worse once p < alpha (by the difference's sign); otherwise no difference detected once
 * both arms hold the planned sample, else keep running with the remaining sample size per arm.
 */
export function verdictOf(input: VerdictInput): Verdict {
  if (input.pValue < input.alpha && input.difference !== 0) {
    const up = input.difference > 0 === (input.higherIsBetter ?? true);
    return { verdict: up ? 'treatment_better' : 'treatment_worse' };
  }
  const have = Math.min(input.nControl, input.nTreatment);
  if (have >= input.requiredPerArm) return { verdict: 'no_difference_detected' };
  if (!Number.isFinite(input.requiredPerArm)) return { verdict: 'keep_running' };
  return { verdict: 'keep_running', remaining_per_arm: Math.ceil(input.requiredPerArm - have) };
}

/**
 * Sample size per arm needed to detect `mde` (absolute) with the given power: for a binary metric
 * from the control's observed rate (Cohen's h), for a continuous one from the arms' pooled
 * standard deviation. Infinity while the data cannot tell yet (no spread observed).
 */
export function requiredPerArm(input: {
  kind: 'binary' | 'continuous';
  control: ArmSummary;
  treatment: ArmSummary;
  mde: number;
  alpha?: number;
  power?: number;
}): number {
  const { control, treatment, mde } = input;
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  if (input.kind === 'binary') {
    // An observed rate of exactly 0 or 1 says little; keep the baseline half an observation inside.
    const edge = 0.5 / Math.max(1, control.n);
    const baseline = Math.min(1 - edge, Math.max(edge, control.mean));
    const target = Math.min(1 - 1e-9, Math.max(1e-9, baseline + mde));
    return sampleSizeTwoProportions({ baseline, mde: target - baseline, alpha, power });
  }
  const dof = control.n + treatment.n - 2;
  const pooledVar =
    dof > 0 ? ((control.n - 1) * control.std ** 2 + (treatment.n - 1) * treatment.std ** 2) / dof : 0;
  if (!(pooledVar > 0)) return Number.POSITIVE_INFINITY;
  return sampleSizeMeans({ std: Math.sqrt(pooledVar), mde, alpha, power });
}
