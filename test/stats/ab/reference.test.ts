import { describe, expect, it } from 'vitest';
import {
  sampleRatioMismatch,
  sampleSizeMeans,
  sampleSizeTwoProportions,
  summarize,
  twoProportionZTest,
  requiredPerArm,
  verdictOf,
  welchTTest,
} from '../../../src/stats/ab/index.js';
import { BINARY_ARMS, BINARY_REF, CONTROL, TREATMENT, VARIANT_B, WELCH_REF } from './fixtures.js';

const close = (actual: number, expected: number, rel = 1e-9) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));

const bits = ([n, x]: readonly [number, number]) => Array.from({ length: n }, (_, i) => (i < x ? 1 : 0));

describe("Welch's t-test (unequal variances, unequal n) against scipy/statsmodels", () => {
  const control = summarize(CONTROL);
  for (const [name, data] of [
    ['treatment', TREATMENT],
    ['variant_b', VARIANT_B],
  ] as const) {
    it(`matches the statistic, df, p-value and intervals for ${name}`, () => {
      const ref = WELCH_REF[name];
      const arm = summarize(data);
      close(arm.mean, ref.mean);
      close(arm.std, ref.std);
      const r = welchTTest(control, arm);
      expect(r.test).toBe('welch-t');
      close(r.difference, ref.diff);
      close(r.statistic, ref.t);
      close(r.df ?? 0, ref.df);
      close(r.p_value, ref.p, 1e-8);
      close(r.ci_low, ref.lo, 1e-8);
      close(r.ci_high, ref.hi, 1e-8);
      expect(r.significant).toBe(false);
      const r01 = welchTTest(control, arm, 0.01);
      close(r01.ci_low, ref.lo01, 1e-8);
      close(r01.ci_high, ref.hi01, 1e-8);
    });
  }

  it('flips the sign of the statistic with the difference', () => {
    const a = welchTTest(summarize(CONTROL), summarize(VARIANT_B));
    const b = welchTTest(summarize(VARIANT_B), summarize(CONTROL));
    close(a.statistic, -b.statistic);
    close(a.p_value, b.p_value);
  });

  it('refuses an arm with fewer than two observations', () => {
    expect(() => welchTTest(summarize([1]), summarize(CONTROL))).toThrow(/at least 2/);
  });
});

describe('two-proportion z-test (pooled statistic, unpooled Wald interval) against statsmodels', () => {
  const control = summarize(bits(BINARY_ARMS.control));
  for (const name of ['treatment', 'variant_b'] as const) {
    it(`matches z, p and the Wald interval for ${name}`, () => {
      const ref = BINARY_REF[name];
      const arm = summarize(bits(BINARY_ARMS[name]));
      close(arm.std, ref.std);
      const r = twoProportionZTest(control, arm);
      expect(r.test).toBe('two-proportion-z');
      close(r.difference, ref.diff);
      close(r.statistic, ref.z);
      close(r.p_value, ref.p, 1e-8);
      close(r.ci_low, ref.lo, 1e-8);
      close(r.ci_high, ref.hi, 1e-8);
    });
  }

  it('calls p < alpha significant', () => {
    const arm = summarize(bits(BINARY_ARMS.treatment));
    expect(twoProportionZTest(control, arm, 0.05).significant).toBe(false);
    expect(twoProportionZTest(control, arm, 0.1).significant).toBe(true);
  });

  it('keeps precision for tiny p-values (statsmodels: z 11.180339887498947, p 5.089468973814369e-29)', () => {
    const r = twoProportionZTest({ n: 1000, mean: 0.1, std: 0 }, { n: 1000, mean: 0.3, std: 0 });
    close(r.statistic, 11.180339887498947);
    close(r.p_value / 5.089468973814369e-29, 1, 1e-6);
  });

  it('reports no evidence when every outcome is the same', () => {
    const r = twoProportionZTest({ n: 10, mean: 0, std: 0 }, { n: 12, mean: 0, std: 0 });
    expect(r).toMatchObject({ statistic: 0, p_value: 1, significant: false, difference: 0 });
  });
});

describe('sample-ratio mismatch (chi-squared goodness of fit) against scipy', () => {
  it('matches scipy.stats.chisquare for equal and configured splits', () => {
    close(sampleRatioMismatch([1000, 980, 1010]).p_value, 0.7912718333805047);
    close(sampleRatioMismatch([1000, 980]).p_value, 0.653095114932182);
    close(sampleRatioMismatch([320, 680], [30, 70]).p_value, 0.16754627748861328);
    close(sampleRatioMismatch([1000, 1300]).p_value / 3.9641597078900225e-10, 1, 1e-6);
    close(sampleRatioMismatch([1000, 980, 1010], [20, 30, 50]).p_value / 3.0483231063446334e-95, 1, 1e-6);
  });

  it('names the split when it does not fit the arms', () => {
    expect(() => sampleRatioMismatch([1, 2], [1, 2, 3])).toThrow(/split/);
    expect(() => sampleRatioMismatch([1, 2], [1, 0])).toThrow(/split/);
  });
});

describe('sample size per arm for two proportions', () => {
  // [baseline, mde, alpha, power, statsmodels NormalIndPower (ceil), Fleiss textbook formula (ceil)]
  const cases = [
    [0.1, 0.02, 0.05, 0.8, 3835, 3841],
    [0.05, 0.01, 0.05, 0.9, 10901, 10921],
    [0.3, -0.05, 0.01, 0.8, 1860, 1862],
    [0.5, 0.1, 0.05, 0.8, 388, 388],
    [0.2, 0.001, 0.05, 0.8, 2516338, 2516346],
  ] as const;
  it.each(cases)('baseline %s, mde %s, alpha %s, power %s -> %s (statsmodels), within 1%% of Fleiss', (baseline, mde, alpha, power, sm, fleiss) => {
    const n = sampleSizeTwoProportions({ baseline, mde, alpha, power });
    expect(n).toBe(sm);
    expect(Math.abs(n - fleiss) / fleiss).toBeLessThan(0.01);
  });

  it('matches NormalIndPower for means (d = 0.25 -> 251.16, so 252)', () => {
    expect(sampleSizeMeans({ std: 2, mde: 0.5 })).toBe(252);
  });

  it('names the field of bad input', () => {
    expect(() => sampleSizeTwoProportions({ baseline: 1.2, mde: 0.1 })).toThrow(/baseline/);
    expect(() => sampleSizeTwoProportions({ baseline: 0.9, mde: 0.2 })).toThrow(/mde/);
    expect(() => sampleSizeTwoProportions({ baseline: 0.1, mde: 0 })).toThrow(/mde/);
    expect(() => sampleSizeTwoProportions({ baseline: 0.1, mde: 0.01, alpha: 2 })).toThrow(/alpha/);
    expect(() => sampleSizeTwoProportions({ baseline: 0.1, mde: 0.01, power: 0.01 })).toThrow(/power/);
  });
});

describe('verdict', () => {
  const base = { alpha: 0.05, nControl: 500, nTreatment: 520, requiredPerArm: 3835 };
  it('says better or worse by the sign of a significant difference', () => {
    expect(verdictOf({ ...base, difference: 0.02, pValue: 0.01 }).verdict).toBe('treatment_better');
    expect(verdictOf({ ...base, difference: -0.02, pValue: 0.01 }).verdict).toBe('treatment_worse');
    expect(verdictOf({ ...base, difference: -0.02, pValue: 0.01, higherIsBetter: false }).verdict).toBe('treatment_better');
  });
  it('keeps running with the remaining sample, then gives up on detecting a difference', () => {
    expect(verdictOf({ ...base, difference: 0.001, pValue: 0.4 })).toEqual({ verdict: 'keep_running', remaining_per_arm: 3335 });
    expect(verdictOf({ ...base, nControl: 3900, nTreatment: 3835, difference: 0.001, pValue: 0.4 })).toEqual({
      verdict: 'no_difference_detected',
    });
  });

  it('sizes the remaining sample from the observed control rate or pooled spread', () => {
    const control = { n: 2000, mean: 0.1, std: 0.3 };
    expect(requiredPerArm({ kind: 'binary', control, treatment: control, mde: 0.02 })).toBe(3835);
    // pooled std 2, mde 0.5: statsmodels NormalIndPower d = 0.25 -> 251.16
    const a = { n: 100, mean: 10, std: 2 };
    expect(requiredPerArm({ kind: 'continuous', control: a, treatment: a, mde: 0.5 })).toBe(252);
    expect(requiredPerArm({ kind: 'continuous', control: { n: 1, mean: 1, std: 0 }, treatment: { n: 1, mean: 2, std: 0 }, mde: 1 })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(requiredPerArm({ kind: 'binary', control: { n: 50, mean: 0, std: 0 }, treatment: control, mde: 0.05 })).toBeGreaterThan(0);
  });
});
