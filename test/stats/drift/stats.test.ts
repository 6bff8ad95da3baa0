/**
 * Reference values from scipy 1.10.1 / numpy 1.24 (Debian bookworm python3-scipy), computed once by:
 *
 * import json, numpy as np
 * from scipy import stats
 * from scipy.spatial.distance import jensenshannon
 * class Lcg:
 *     def __init__(s, seed): s.s = seed & 0xffffffff
 *     def u(s):
 *         s.s = (s.s * 1664525 + 1013904223) & 0xffffffff
 *         return (s.s + 0.5) / 4294967296
 *     def normal(s, mu=0.0, sd=1.0, dec=None):
 *         t = 0.0
 *         for _ in range(12): t += s.u()
 *         x = mu + sd * (t - 6.0)
 *         return x if dec is None else np.floor(x * 10**dec + 0.5) / 10**dec
 * def sample(seed, n, mu=0.0, sd=1.0, dec=None):
 *     g = Lcg(seed); return np.array([g.normal(mu, sd, dec) for _ in range(n)])
 * def psi(ref, cur):
 *     e = np.unique(np.quantile(ref, np.linspace(0, 1, 11)))
 *     inner = e[1:-1]
 *     r = np.bincount(np.searchsorted(inner, ref, side='left'), minlength=max(len(e)-1,1)) / len(ref)
 *     c = np.bincount(np.searchsorted(inner, cur, side='left'), minlength=max(len(e)-1,1)) / len(cur)
 *     r = np.maximum(r, 1e-4); c = np.maximum(c, 1e-4)
 *     return float(np.sum((c - r) * np.log(c / r)))
 * cases = {
 *   'ks_equal': (1, 200, 0, 1, None, 2, 200, 0.3, 1, None),
 *   'ks_unequal_ties': (3, 300, 0, 1, 1, 4, 170, 0.2, 1, 1),
 *   'ks_tiny_p': (5, 500, 0, 1, None, 6, 400, 1.0, 1, None),
 *   'ks_same': (7, 150, 0, 1, 2, 8, 90, 0, 1, 2),
 *   'ks_exact_limit': (9, 10000, 0, 1, None, 10, 7000, 0.04, 1, None),
 *   'ks_asymp_small_en': (11, 20000, 0, 1, None, 12, 60, 0.3, 1, None),
 *   'ks_asymp_mid_en': (13, 10001, 0, 1, None, 14, 600, 0.1, 1, None),
 *   'ks_asymp_large': (15, 120000, 0, 1, 3, 16, 90000, 0.01, 1, 3),
 *   'ks_asymp_tiny_p': (17, 30000, 0, 1, None, 18, 20000, 0.1, 1.1, None),
 * }
 * out = {}
 * for name, (s1, n1, m1, sd1, d1, s2, n2, m2, sd2, d2) in cases.items():
 *     a = sample(s1, n1, m1, sd1, d1); b = sample(s2, n2, m2, sd2, d2)
 *     r = stats.ks_2samp(a, b)
 *     out[name] = dict(ks=[float(r.statistic), float(r.pvalue)],
 *         wasserstein=float(stats.wasserstein_distance(a, b) / np.std(a)), psi=psi(a, b))
 * grid = []
 * for n in [5, 60, 139, 141, 500, 5000, 60000, 100001, 400000]:
 *     for x in [0.3/n, 0.7/n, 1.5/n, 0.5/np.sqrt(n), 0.8/np.sqrt(n), 1.2/np.sqrt(n), 1.6/np.sqrt(n), 2.5/np.sqrt(n), 5/np.sqrt(n), 0.55, 1-1.5/n]:
 *         if 0 < x < 1: grid.append([n, float(x), float(stats.kstwo.sf(x, n))])
 * out['kstwo'] = grid
 * tables = [([10, 20, 30], [12, 18, 35]), ([100, 0, 5, 7], [80, 3, 9, 30]), ([50], [40]), ([1000, 2000], [1500, 1200]), ([5, 5, 5, 5, 5, 5], [1, 2, 3, 4, 5, 60])]
 * out['chi2'] = []
 * for r, c in tables:
 *     chi, p, dof, _ = stats.chi2_contingency(np.array([r, c]), correction=False) if len(r) > 1 else (0.0, 1.0, 0, None)
 *     out['chi2'].append([r, c, float(chi), float(p), float(jensenshannon(np.array(r)/sum(r), np.array(c)/sum(c))),
 *         float(np.sum((np.maximum(np.array(c)/sum(c),1e-4)-np.maximum(np.array(r)/sum(r),1e-4))*np.log(np.maximum(np.array(c)/sum(c),1e-4)/np.maximum(np.array(r)/sum(r),1e-4))))])
 * print(json.dumps(out))
 */
import { describe, expect, it } from 'vitest';
import {
  chi2Homogeneity,
  jensenShannon,
  KS_EXACT_MAX_N,
  kolmogorovSf,
  ks2Samp,
  psiFromCounts,
  psiNumeric,
  sortFloat64,
  stdDev,
  wasserstein1,
} from '../../../src/stats/drift/index.js';
import { sample, sorted } from './samples.js';

type Spec = [seed: number, n: number, mu: number, sd: number, decimals: number | undefined];
interface Case { name: string; a: Spec; b: Spec; d: number; p: number; wasserstein: number; psi: number }

const CASES: Case[] = [
  { name: 'ks_equal', a: [1, 200, 0, 1, undefined], b: [2, 200, 0.3, 1, undefined], d: 0.19, p: 0.0014264303851701861, wasserstein: 0.410891550779103, psi: 0.22192070418403081 },
  { name: 'ks_unequal_ties', a: [3, 300, 0, 1, 1], b: [4, 170, 0.2, 1, 1], d: 0.1811764705882353, p: 0.001357494498769712, wasserstein: 0.39562109369036186, psi: 0.20049574594476038 },
  { name: 'ks_tiny_p', a: [5, 500, 0, 1, undefined], b: [6, 400, 1.0, 1, undefined], d: 0.4085, p: 1.1074397357038716e-33, wasserstein: 1.0557357539528958, psi: 1.0543919264807744 },
  { name: 'ks_same', a: [7, 150, 0, 1, 2], b: [8, 90, 0, 1, 2], d: 0.08666666666666667, p: 0.7626583693172845, wasserstein: 0.1743879974893479, psi: 0.31385379599467833 },
  { name: 'ks_exact_limit', a: [9, 10000, 0, 1, undefined], b: [10, 7000, 0.04, 1, undefined], d: 0.01537142857142857, p: 0.2817079407703856, wasserstein: 0.02364754203282625, psi: 0.0020067199598754713 },
  { name: 'ks_asymp_small_en', a: [11, 20000, 0, 1, undefined], b: [12, 60, 0.3, 1, undefined], d: 0.10788333333333333, p: 0.4557446787218945, wasserstein: 0.21661815282361102, psi: 0.29768754897245264 },
  { name: 'ks_asymp_mid_en', a: [13, 10001, 0, 1, undefined], b: [14, 600, 0.1, 1, undefined], d: 0.11234876512348768, p: 1.1167165829787032e-06, wasserstein: 0.2600713211144212, psi: 0.07359668128187058 },
  { name: 'ks_asymp_large', a: [15, 120000, 0, 1, 3], b: [16, 90000, 0.01, 1, 3], d: 0.0027027777777777207, p: 0.8456840476501146, wasserstein: 0.00438402519894884, psi: 0.00011599471711634511 },
  { name: 'ks_asymp_tiny_p', a: [17, 30000, 0, 1, undefined], b: [18, 20000, 0.1, 1.1, undefined], d: 0.04665000000000008, p: 3.926794863970428e-23, wasserstein: 0.11219657228503521, psi: 0.017963209829443418 },
];

/** [n, x, scipy.stats.kstwo.sf(x, n)] across every branch of the Simard–L'Ecuyer evaluation. */
const KSTWO: [number, number, number][] = [
  [5, 0.06, 1.0],
  [5, 0.13999999999999999, 0.999606784],
  [5, 0.3, 0.664],
  [5, 0.22360679774997896, 0.9162082822963654],
  [5, 0.35777087639996635, 0.4415172023820515],
  [5, 0.5366563145999494, 0.07107678230606948],
  [5, 0.7155417527999327, 0.004089054214687797],
  [5, 0.55, 0.059696249999999965],
  [5, 0.7, 0.005560000000000004],
  [60, 0.005, 1.0],
  [60, 0.011666666666666665, 1.0],
  [60, 0.025, 0.9999999999911395],
  [60, 0.06454972243679027, 0.9501075588856862],
  [60, 0.10327955589886445, 0.5110949485189897],
  [60, 0.15491933384829668, 0.1007041625804398],
  [60, 0.2065591117977289, 0.010088078747358953],
  [60, 0.3227486121839514, 4.615146999822163e-06],
  [60, 0.6454972243679028, 6.6699739562242995e-25],
  [60, 0.55, 1.424358696931096e-17],
  [60, 0.975, 1.5046327690526082e-96],
  [139, 0.002158273381294964, 1.0],
  [139, 0.005035971223021582, 1.0],
  [139, 0.01079136690647482, 1.0],
  [139, 0.042409446483998546, 0.9548446597144573],
  [139, 0.06785511437439769, 0.5220077986098577],
  [139, 0.10178267156159651, 0.10465971783449032],
  [139, 0.13571022874879538, 0.010773468361368471],
  [139, 0.21204723241999274, 5.8003797951012264e-06],
  [139, 0.4240944648399855, 3.4033533186064706e-23],
  [139, 0.55, 5.156477465940721e-40],
  [139, 0.9892086330935251, 7.918770729021451e-274],
  [141, 0.002127659574468085, 1.0],
  [141, 0.004964539007092198, 1.0],
  [141, 0.010638297872340425, 1.0],
  [141, 0.04210759605332595, 0.9549094893418928],
  [141, 0.06737215368532153, 0.5221577963245764],
  [141, 0.10105823052798227, 0.10471366448734887],
  [141, 0.13474430737064305, 0.010782502579705781],
  [141, 0.21053798026662973, 5.81552565761188e-06],
  [141, 0.42107596053325946, 3.5279048855551754e-23],
  [141, 0.55, 1.3938684369330333e-40],
  [141, 0.9893617021276596, 1.2302762440585609e-278],
  [500, 0.0006, 1.0],
  [500, 0.0014, 1.0],
  [500, 0.003, 1.0],
  [500, 0.022360679774997897, 0.959154992904892],
  [500, 0.03577708763999664, 0.5322609545817769],
  [500, 0.05366563145999495, 0.10824335474199998],
  [500, 0.07155417527999328, 0.011354046044617962],
  [500, 0.11180339887498948, 6.715937887322478e-06],
  [500, 0.22360679774997896, 1.9166940156188108e-22],
  [500, 0.55, 1.4616283508892008e-142],
  [500, 0.997, 0.0],
  [5000, 5.9999999999999995e-05, 1.0],
  [5000, 0.00014, 1.0],
  [5000, 0.0003, 1.0],
  [5000, 0.007071067811865475, 0.9624348682860043],
  [5000, 0.01131370849898476, 0.5403324616290442],
  [5000, 0.01697056274847714, 0.11098122447398728],
  [5000, 0.02262741699796952, 0.011768898449115267],
  [5000, 0.035355339059327376, 7.258404360512366e-06],
  [5000, 0.07071067811865475, 3.488001020816532e-22],
  [5000, 0.55, 0.0],
  [5000, 0.9997, 0.0],
  [60000, 4.9999999999999996e-06, 1.0],
  [60000, 1.1666666666666666e-05, 1.0],
  [60000, 2.5e-05, 1.0],
  [60000, 0.002041241452319315, 0.9635098087355416],
  [60000, 0.0032659863237109042, 0.5430374550825441],
  [60000, 0.004898979485566356, 0.11188332819499491],
  [60000, 0.0065319726474218085, 0.011899759352272367],
  [60000, 0.010206207261596574, 7.400964400379857e-06],
  [60000, 0.02041241452319315, 3.788475564657516e-22],
  [60000, 0.55, 0.0],
  [60000, 0.999975, 0.0],
  [100001, 2.9999700002999967e-06, 1.0],
  [100001, 6.999930000699992e-06, 1.0],
  [100001, 1.4999850001499985e-05, 1.0],
  [100001, 0.0015811309244493314, 0.9636080024029726],
  [100001, 0.0025298094791189303, 0.543286155365172],
  [100001, 0.003794714218678395, 0.11196589094928922],
  [100001, 0.005059618958237861, 0.011911586801793524],
  [100001, 0.007905654622246657, 7.413045587236896e-06],
  [100001, 0.015811309244493314, 3.8068821384025157e-22],
  [100001, 0.55, 0.0],
  [100001, 0.9999850001499985, 0.0],
  [400000, 7.5e-07, 1.0],
  [400000, 1.75e-06, 1.0],
  [400000, 3.75e-06, 1.0],
  [400000, 0.0007905694150420947, 0.9637766601282607],
  [400000, 0.0012649110640673518, 0.5437139674415671],
  [400000, 0.0018973665961010274, 0.1121077672019497],
  [400000, 0.0025298221281347035, 0.011931852097830332],
  [400000, 0.003952847075210474, 7.433419903772237e-06],
  [400000, 0.007905694150420948, 3.8346645850087124e-22],
  [400000, 0.55, 0.0],
  [400000, 0.99999625, 0.0],
];

const TABLES = [
  { ref: [10, 20, 30], cur: [12, 18, 35], chi2: 0.4724526485660098, p: 0.7896019476138597, js: 0.04348608763610077, psi: 0.015144724203689055 },
  { ref: [100, 0, 5, 7], cur: [80, 3, 9, 30], chi2: 20.272048750825096, p: 0.00014907140062028092, js: 0.22045716853372654, psi: 0.4738542548641086 },
  { ref: [50], cur: [40], chi2: 0.0, p: 1.0, js: 0.0, psi: 0.0 },
  { ref: [1000, 2000], cur: [1500, 1200], chi2: 285.0000000000002, p: 6.110028855207045e-64, js: 0.1588197221734607, psi: 0.20362016263870114 },
  { ref: [5, 5, 5, 5, 5, 5], cur: [1, 2, 3, 4, 5, 60], chi2: 38.97489316239316, p: 2.4026307331467283e-07, js: 0.4763641701966237, psi: 2.03882957539398 },
];

const draw = (s: Spec): Float64Array => sorted(sample(s[0], s[1], s[2], s[3], s[4]));

/** The tolerance: p-values under 0.01 within a factor of 2 of scipy's, larger ones within 0.002. */
function expectPValue(actual: number, expected: number): void {
  if (expected < 0.01) {
    expect(actual).toBeGreaterThan(expected / 2);
    expect(actual).toBeLessThan(expected * 2);
  } else {
    expect(Math.abs(actual - expected)).toBeLessThanOrEqual(0.002);
  }
}

describe('ks2Samp matches scipy.stats.ks_2samp (method auto)', () => {
  for (const c of CASES) {
    it(`${c.name}: n=${c.a[1]} vs ${c.b[1]}`, () => {
      const r = ks2Samp(draw(c.a), draw(c.b));
      expect(r.statistic).toBeCloseTo(c.d, 12);
      expectPValue(r.pValue, c.p);
      // Ours is in fact much closer than the tolerance:
      expect(Math.abs(r.pValue - c.p)).toBeLessThanOrEqual(1e-9 * c.p + 1e-15);
    });
  }

  it('switches from the exact to the asymptotic distribution above 10,000 values', () => {
    expect(KS_EXACT_MAX_N).toBe(10_000);
    const exact = CASES.find((c) => c.name === 'ks_exact_limit') as Case;
    const asymp = CASES.find((c) => c.name === 'ks_asymp_mid_en') as Case;
    expect(Math.max(exact.a[1], exact.b[1])).toBe(10_000);
    expect(Math.max(asymp.a[1], asymp.b[1])).toBe(10_001);
  });

  it('gives D = 0 and p = 1 for identical samples, and D = 1 for disjoint ones', () => {
    const a = draw([21, 50, 0, 1, 2]);
    expect(ks2Samp(a, a)).toEqual({ statistic: 0, pValue: 1 });
    const b = a.map((x) => x + 100);
    const r = ks2Samp(a, b);
    expect(r.statistic).toBe(1);
    expect(r.pValue).toBeLessThan(1e-20);
  });
});

describe('kolmogorovSf matches scipy.stats.kstwo.sf', () => {
  it('on a grid covering every evaluation branch', () => {
    for (const [n, x, p] of KSTWO) {
      const mine = kolmogorovSf(n, x);
      if (p === 0) expect(mine).toBeLessThan(1e-300);
      // Exact methods agree to 1e-6; above n = 100,000 the one-sided Smirnov tail is asymptotic (within 1%).
      else expect(Math.abs(mine - p) / p, `n=${n} x=${x}`).toBeLessThan(n > 100_000 ? 1e-2 : 1e-6);
    }
  });
});

describe('distances match scipy and numpy', () => {
  for (const c of CASES) {
    it(`${c.name}: wasserstein / std and decile PSI`, () => {
      const a = draw(c.a);
      const b = draw(c.b);
      expect(wasserstein1(a, b) / stdDev(a)).toBeCloseTo(c.wasserstein, 10);
      expect(psiNumeric(a, b)).toBeCloseTo(c.psi, 10);
    });
  }

  it('chi2_contingency(correction=False), jensenshannon and categorical PSI on count tables', () => {
    for (const t of TABLES) {
      const chi = chi2Homogeneity(t.ref, t.cur);
      expect(chi.statistic).toBeCloseTo(t.chi2, 9);
      expectPValue(chi.pValue, t.p);
      expect(Math.abs(chi.pValue - t.p)).toBeLessThanOrEqual(1e-9 * t.p + 1e-15);
      expect(jensenShannon(t.ref, t.cur)).toBeCloseTo(t.js, 12);
      expect(psiFromCounts(t.ref, t.cur)).toBeCloseTo(t.psi, 12);
    }
  });
});

describe('sortFloat64', () => {
  it('sorts like Float64Array.prototype.sort on smooth, skewed, tied and infinite data', () => {
    const n = 50_000;
    const shapes: ((u: number, i: number) => number)[] = [
      (u) => u,
      (u) => Math.exp(20 * u) * (u < 0.5 ? -1 : 1),
      (u) => Math.floor(u * 7),
      (u, i) => (i % 1000 === 0 ? Number.POSITIVE_INFINITY : u),
      (u, i) => (i === 3 ? 1e300 : u * 1e-300),
    ];
    const noise = sample(99, n);
    for (const shape of shapes) {
      const values = noise.map((x, i) => shape((x + 6) / 12, i));
      const expected = Float64Array.from(values).sort();
      const actual = sortFloat64(Float64Array.from(values));
      expect(Buffer.from(actual.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });
});
