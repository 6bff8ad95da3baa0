import {
  binCounts,
  chi2Homogeneity,
  jensenShannon,
  KS_EXACT_MAX_N,
  kolmogorovSf,
  ks2Samp,
  psiFromCounts,
  psiNumeric,
  wasserstein1,
} from '../../stats/drift/index.js';
import {
  type ColumnChart,
  type ColumnDrift,
  type ColumnKind,
  type ConcreteMethod,
  chooseMethod,
  type DriftMethod,
  MAX_CATEGORICAL_DISTINCT,
} from '../drift/index.js';
import { MAX_SAMPLE_POINTS, type ReferenceColumn } from './reference.js';
import type { ColumnSummary } from './summary.js';

/** As `berth drift`: a constant reference divides Wasserstein by this instead of its std (0). */
const MIN_WASSERSTEIN_NORM = 0.001;

const threshold = (m: ConcreteMethod): number => (m === 'ks' || m === 'chi2' ? 0.05 : 0.1);
const drifts = (m: ConcreteMethod, stat: number, p: number | null): boolean =>
  m === 'ks' || m === 'chi2' ? (p ?? 1) < threshold(m) : stat >= threshold(m);

/** numpy's np.round (halves to even), as scipy rounds the effective sample size. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function kindOf(ref: ReferenceColumn, cur: ColumnSummary, forced: boolean): ColumnKind {
  if (forced || !ref.numeric) return 'categorical';
  // live text values in a numeric column make it categorical, as a non-numeric column is offline
  if (cur.present > 0 && cur.sketch === null) return 'categorical';
  if (cur.sketch !== null && cur.sketch.count < cur.present) return 'categorical';
  if (ref.distinct > MAX_CATEGORICAL_DISTINCT || cur.overflow) return 'numerical';
  const all = new Set([...ref.counts.keys(), ...cur.categoryCounts().keys()]);
  return all.size > MAX_CATEGORICAL_DISTINCT ? 'numerical' : 'categorical';
}

/** Equal-width bins over both samples' range, for the charts. */
function histogram(ref: Float64Array, cur: Float64Array, bins = 30): ColumnChart {
  const lo = Math.min(ref[0] ?? Number.POSITIVE_INFINITY, cur[0] ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(ref[ref.length - 1] ?? Number.NEGATIVE_INFINITY, cur[cur.length - 1] ?? Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { kind: 'numerical', edges: [], reference: [], current: [] };
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges: number[] = [];
  for (let i = 0; i <= (hi > lo ? bins : 1); i++) edges.push(lo + i * width);
  edges[edges.length - 1] = Math.max(hi, lo + width);
  return { kind: 'numerical', edges, reference: binCounts(ref, edges), current: binCounts(cur, edges) };
}

/**
 * One column's drift between the reference and a window's summary, with the statistics of
 * src/stats/drift run on the sketch: for numbers, a sorted sample standing for the sketch (every value
 * when the window holds at most 10,000, so tests keep their exact n); KS p-values beyond that use the
 * true sizes in scipy's asymptotic formula.
 */
export function compareColumn(
  name: string,
  ref: ReferenceColumn,
  cur: ColumnSummary,
  referenceRows: number,
  requested: DriftMethod = 'auto',
  forcedCategorical = false,
): { drift: ColumnDrift; chart: ColumnChart } {
  const kind = kindOf(ref, cur, forcedCategorical);
  const method = chooseMethod(requested, kind, referenceRows);
  const entry = (statistic: number | null, p: number | null, drift: boolean): ColumnDrift => ({
    column: name,
    kind,
    method,
    statistic,
    p_value: p,
    threshold: threshold(method),
    drift,
    missing_reference: ref.missing,
    missing_current: cur.missing,
  });
  if (kind === 'numerical' && (cur.sketch === null || ref.n === 0)) {
    return { drift: entry(null, null, false), chart: { kind, edges: [], reference: [], current: [] } };
  }
  if (kind === 'numerical' && cur.sketch !== null) {
    const refS = ref.sorted;
    const curS = cur.sketch.sample(MAX_SAMPLE_POINTS);
    const chart = histogram(refS, curS);
    let stat: number;
    let p: number | null = null;
    if (method === 'ks') {
      const r = ks2Samp(refS, curS);
      stat = r.statistic;
      p = r.pValue;
      const n1 = ref.n;
      const n2 = cur.sketch.count;
      if (Math.max(n1, n2) > KS_EXACT_MAX_N) p = Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven((n1 * n2) / (n1 + n2)), stat)));
    } else if (method === 'psi') stat = psiNumeric(refS, curS);
    else stat = wasserstein1(refS, curS) / (ref.std > 0 ? ref.std : MIN_WASSERSTEIN_NORM);
    return { drift: entry(stat, p, drifts(method, stat, p)), chart };
  }
  const rc = ref.counts;
  const cc = cur.categoryCounts();
  const categories = [...new Set([...rc.keys(), ...cc.keys()])].sort(
    (a, b) => (rc.get(b) ?? 0) + (cc.get(b) ?? 0) - ((rc.get(a) ?? 0) + (cc.get(a) ?? 0)) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const r = categories.map((c) => rc.get(c) ?? 0);
  const c = categories.map((k) => cc.get(k) ?? 0);
  const chart: ColumnChart = { kind: 'categorical', categories, reference: r, current: c };
  const refEmpty = !r.some((x) => x > 0);
  const curEmpty = !c.some((x) => x > 0);
  if (refEmpty || curEmpty) return { drift: entry(null, null, refEmpty !== curEmpty && !curEmpty), chart };
  let stat: number;
  let p: number | null = null;
  if (method === 'chi2') {
    const t = chi2Homogeneity(r, c);
    stat = t.statistic;
    p = t.pValue;
  } else if (method === 'psi') stat = psiFromCounts(r, c);
  else stat = jensenShannon(r, c);
  return { drift: entry(stat, p, drifts(method, stat, p)), chart };
}
