import {
  AlwaysValidPValue,
  type ArmSummary,
  mixingVariance,
  requiredPerArm,
  twoProportionZTest,
  type VerdictKind,
  verdictOf,
  welchTTest,
} from '../stats/ab/index.js';
import { isBerthError } from '../errors.js';
import { type AnalysisReport, analyzeArms, type ComparisonStats } from './analyze.js';
import type { ArmTotals, Experiment, ExperimentStatus } from './types.js';

/** One arm in a live report. */
export interface ReportVariant {
  name: string;
  model: string;
  version: number;
  weight: number;
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  std: number;
}

/** One variant against the control, with the sequential p-value and the verdict. */
export interface ReportComparison extends ComparisonStats {
  /** Always-valid (mSPRT) p-value: the running minimum over every look so far. */
  msprt_p_value: number;
  verdict: VerdictKind;
  /** Units still needed in the smaller arm for the configured MDE and power (keep_running only). */
  remaining_per_arm?: number;
}

/** An experiment's report, as `GET /api/v1/experiments/{name}/report` and `berth experiments report --json` give it. */
export interface ExperimentReport {
  name: string;
  model: string;
  status: ExperimentStatus;
  metric: Experiment['metric'];
  control: string;
  alpha: number;
  power: number;
  mde: number | null;
  variants: ReportVariant[];
  comparisons: ReportComparison[];
  /** Chi-squared goodness-of-fit of the arms' unit counts against the configured split. */
  srm_p_value: number | null;
  /** Set while an arm is too small to compare (no comparisons yet). */
  note?: string;
}

/** Mean and sample standard deviation from n, Σx and Σx². */
export function armSummary(t: Pick<ArmTotals, 'n' | 'sum' | 'sumsq'>): ArmSummary {
  if (t.n === 0) return { n: 0, mean: 0, std: 0 };
  const mean = t.sum / t.n;
  const variance = t.n < 2 ? 0 : Math.max(0, (t.sumsq - t.sum * mean) / (t.n - 1));
  return { n: t.n, mean, std: Math.sqrt(variance) };
}

/**
 * Builds the report from the arms' totals and takes one sequential look: the returned map holds
 * each arm's always-valid p-value after this look, for the store to keep.
 */
export function buildReport(e: Experiment, totals: ArmTotals[]): { report: ExperimentReport; msprt: Map<string, number> } {
  const byName = new Map(totals.map((t) => [t.variant, t]));
  const arms = new Map<string, ArmSummary>();
  for (const v of e.variants) arms.set(v.name, armSummary(byName.get(v.name) ?? { n: 0, sum: 0, sumsq: 0 }));
  const arm = (name: string): ArmSummary => arms.get(name) ?? { n: 0, mean: 0, std: 0 };
  const variants = e.variants.map((v) => ({ name: v.name, model: v.model, version: v.version, weight: v.weight, ...arm(v.name) }));
  const base = {
    name: e.name,
    model: e.model,
    status: e.status,
    metric: e.metric,
    control: e.control,
    alpha: e.alpha,
    power: e.power,
    mde: e.mde,
    variants,
  };
  const msprt = new Map<string, number>();
  const need = e.metric === 'binary' ? 1 : 2;
  const thin = e.variants.find((v) => arm(v.name).n < need);
  if (thin !== undefined) {
    const note = `waiting for data: variant '${thin.name}' has ${arm(thin.name).n} unit(s), the ${e.metric === 'binary' ? 'z' : 'Welch t'}-test needs ${need}`;
    return { report: { ...base, comparisons: [], srm_p_value: null, note }, msprt };
  }
  let analysis: AnalysisReport;
  try {
    analysis = analyzeArms(arms, {
      kind: e.metric,
      control: e.control,
      alpha: e.alpha,
      split: e.variants.map((v) => `${v.name}=${v.weight}`).join(','),
    });
  } catch (err) {
    // e.g. values constant within each arm but different between them: no test is defined yet
    if (!isBerthError(err)) throw err;
    return { report: { ...base, comparisons: [], srm_p_value: null, note: `waiting for data: ${err.message}` }, msprt };
  }
  const control = arm(e.control);
  const comparisons = analysis.comparisons.map((c): ReportComparison => {
    const treatment = arm(c.variant);
    const test = e.metric === 'binary' ? twoProportionZTest : welchTTest;
    const { variance } = test(control, treatment, e.alpha);
    const n = control.n + treatment.n;
    const pooledStd =
      e.metric === 'binary'
        ? Math.sqrt(((control.mean * control.n + treatment.mean * treatment.n) / n) * (1 - (control.mean * control.n + treatment.mean * treatment.n) / n))
        : Math.sqrt(((control.n - 1) * control.std ** 2 + (treatment.n - 1) * treatment.std ** 2) / (n - 2));
    const tau2 = mixingVariance({ mde: e.mde ?? undefined, pooledStd });
    const stored = byName.get(c.variant)?.msprt_p ?? 1;
    const msprt_p_value = new AlwaysValidPValue(tau2, stored).update(c.difference, variance, Math.min(control.n, treatment.n));
    msprt.set(c.variant, msprt_p_value);
    let required = Number.POSITIVE_INFINITY;
    if (e.mde !== null) {
      try {
        required = requiredPerArm({ kind: e.metric, control, treatment, mde: e.mde, alpha: e.alpha, power: e.power });
      } catch {
        // the data cannot size the test yet (e.g. baseline + mde outside [0, 1]): keep running
      }
    }
    const v = verdictOf({
      difference: c.difference,
      pValue: msprt_p_value,
      alpha: e.alpha,
      nControl: control.n,
      nTreatment: treatment.n,
      requiredPerArm: required,
    });
    return { ...c, msprt_p_value, verdict: v.verdict, ...(v.remaining_per_arm === undefined ? {} : { remaining_per_arm: v.remaining_per_arm }) };
  });
  return { report: { ...base, comparisons, srm_p_value: analysis.srm_p_value }, msprt };
}
