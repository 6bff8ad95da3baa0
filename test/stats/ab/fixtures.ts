/** Fixed datasets and their reference statistics, shared by the stats and experiments tests. */

/*
 * Reference values from Debian's python3-scipy 1.10.1 and python3-statsmodels 0.13.5, computed once:
 *
 *   import numpy as np; from scipy import stats
 *   from statsmodels.stats.proportion import proportions_ztest, confint_proportions_2indep, proportion_effectsize
 *   from statsmodels.stats.power import NormalIndPower
 *   from statsmodels.stats.weightstats import ttest_ind, DescrStatsW, CompareMeans
 *   rng = np.random.default_rng(20261126)
 *   control = np.round(rng.normal(10.0, 2.0, 40), 2); treatment = np.round(rng.normal(11.0, 5.0, 25), 2)
 *   variant_b = np.round(rng.normal(10.2, 1.0, 33), 2)
 *   stats.ttest_ind(xs, control, equal_var=False); ttest_ind(xs, control, usevar='unequal')[2]  # df
 *   CompareMeans(DescrStatsW(xs), DescrStatsW(control)).tconfint_diff(alpha=0.05, usevar='unequal')
 *   proportions_ztest([x1, x0], [n1, n0])
 *   confint_proportions_2indep(x1, n1, x0, n0, method='wald', compare='diff')
 *   stats.chisquare(counts, f_exp=...)
 *   NormalIndPower().solve_power(effect_size=proportion_effectsize(b + d, b), alpha=a, power=pw, ratio=1.0)
 */
export const CONTROL = [
  9.25, 9.49, 11.88, 12.78, 7.17, 10.14, 13.76, 11.77, 6.58, 12.22, 8.77, 8.11, 10.8, 10.17, 9.32, 12.8, 11.32, 9.58,
  10.38, 8.13, 9.53, 11.34, 11.43, 11.33, 12.4, 9.8, 7.7, 13.06, 13.23, 6.97, 8.28, 8.28, 8.7, 9.0, 7.98, 8.86, 11.61,
  13.2, 8.12, 11.7,
];
export const TREATMENT = [
  10.95, 12.14, 10.2, 5.13, 11.48, 10.16, 11.15, 4.84, 9.72, 8.2, 8.24, 0.36, 6.19, 9.9, 12.64, 9.76, 17.38, 16.07, 8.34,
  10.65, 14.75, 8.22, 16.22, 4.97, 16.32,
];
export const VARIANT_B = [
  11.67, 10.57, 10.76, 12.12, 10.35, 11.5, 8.88, 9.04, 10.51, 12.88, 9.2, 10.35, 11.31, 10.22, 10.37, 9.27, 10.25, 12.49,
  10.02, 9.06, 8.87, 10.09, 8.72, 10.75, 8.17, 11.61, 11.6, 8.92, 10.97, 10.47, 9.01, 9.57, 9.53,
];

export const WELCH_REF = {
  control: { mean: 10.1735, std: 1.9713493361472507 },
  treatment: {
    mean: 10.1592,
    std: 4.1019222323198665,
    diff: -0.014300000000000423,
    t: -0.016294393522001353,
    p: 0.9871038468878437,
    df: 31.031236906143832,
    lo: -1.8041090143605698,
    hi: 1.775509014360569,
    lo01: -2.4223204954566278,
    hi01: 2.393720495456627,
  },
  variant_b: {
    mean: 10.275757575757575,
    std: 1.1835302866399067,
    diff: 0.10225757575757477,
    t: 0.2736839298880654,
    p: 0.7851910176737431,
    df: 65.32531159197515,
    lo: -0.6438702765003667,
    hi: 0.8483854280155197,
    lo01: -0.8890700800466271,
    hi01: 1.0935852315617802,
  },
};

/** Arms of the binary dataset: [n, successes]. */
export const BINARY_ARMS = { control: [1000, 100], treatment: [980, 125], variant_b: [1010, 98] } as const;
export const BINARY_REF = {
  treatment: {
    z: 1.9313167273683702,
    p: 0.053443896023417765,
    lo: -0.0004121652535410657,
    hi: 0.055514206069867594,
    diff: 0.027551020408163263,
    std: 0.333759533801586,
  },
  variant_b: {
    z: -0.22343278802387723,
    p: 0.8231986881020146,
    lo: -0.029027313526121003,
    hi: 0.023086719466715058,
    diff: -0.002970297029702973,
    std: 0.2961448516360801,
  },
};
