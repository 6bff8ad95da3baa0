import {
  binCounts,
  chi2Homogeneity,
  jensenShannon,
  ks2Samp,
  psiFromCounts,
  psiNumeric,
  stdDev,
  wasserstein1,
} from '../../stats/drift/index.js';
import type { ColumnKind, ConcreteMethod, DriftMethod } from './types.js';

/** Reference sizes up to this use tests (ks, chi2) under `auto`; larger ones use distances. */
export const AUTO_SMALL_REFERENCE = 1000;
/** Columns with at most this many distinct values across both datasets are categorical. */
export const MAX_CATEGORICAL_DISTINCT = 5;
/** Wasserstein is divided by the reference's std; a constant reference gets this instead (as Evidently). */
export const MIN_WASSERSTEIN_NORM = 0.001;

const NUMERICAL_METHODS: ReadonlySet<ConcreteMethod> = new Set(['ks', 'wasserstein', 'psi']);
const CATEGORICAL_METHODS: ReadonlySet<ConcreteMethod> = new Set(['chi2', 'jensenshannon', 'psi']);

/** Whether a method applies to a column kind (psi applies to both). */
export function methodFits(method: ConcreteMethod, kind: ColumnKind): boolean {
  return (kind === 'numerical' ? NUMERICAL_METHODS : CATEGORICAL_METHODS).has(method);
}

/** The method for a column: the requested one when it fits the column's kind, else Evidently's `auto` choice. */
export function chooseMethod(requested: DriftMethod, kind: ColumnKind, referenceRows: number): ConcreteMethod {
  if (requested !== 'auto' && methodFits(requested, kind)) return requested;
  const small = referenceRows <= AUTO_SMALL_REFERENCE;
  if (kind === 'numerical') return small ? 'ks' : 'wasserstein';
  return small ? 'chi2' : 'jensenshannon';
}

/** Tests report a p-value and drift below 0.05; distances drift at or above 0.1. */
export function thresholdOf(method: ConcreteMethod): number {
  return method === 'ks' || method === 'chi2' ? 0.05 : 0.1;
}

/** Whether a statistic (or p-value, for tests) means drift under a method. */
export function isDrift(method: ConcreteMethod, statistic: number, pValue: number | null): boolean {
  if (method === 'ks' || method === 'chi2') return (pValue ?? 1) < thresholdOf(method);
  return statistic >= thresholdOf(method);
}

/** Runs a numerical method on two sorted, non-empty samples. */
export function numericalStatistic(method: ConcreteMethod, ref: Float64Array, cur: Float64Array): { statistic: number; pValue: number | null } {
  switch (method) {
    case 'ks': {
      const r = ks2Samp(ref, cur);
      return { statistic: r.statistic, pValue: r.pValue };
    }
    case 'wasserstein': {
      const sd = stdDev(ref);
      return { statistic: wasserstein1(ref, cur) / (sd > 0 ? sd : MIN_WASSERSTEIN_NORM), pValue: null };
    }
    case 'psi':
      return { statistic: psiNumeric(ref, cur), pValue: null };
    default:
      throw new RangeError(`method ${method} does not apply to numerical columns`);
  }
}

/** Runs a categorical method on aligned category counts (categories: the union of both datasets). */
export function categoricalStatistic(method: ConcreteMethod, ref: number[], cur: number[]): { statistic: number; pValue: number | null } {
  switch (method) {
    case 'chi2': {
      const r = chi2Homogeneity(ref, cur);
      return { statistic: r.statistic, pValue: r.pValue };
    }
    case 'jensenshannon':
      return { statistic: jensenShannon(ref, cur), pValue: null };
    case 'psi':
      return { statistic: psiFromCounts(ref, cur), pValue: null };
    default:
      throw new RangeError(`method ${method} does not apply to categorical columns`);
  }
}

/** Shared histogram for charts: equal-width bins over both samples' range (PSI's deciles would hide the tails). */
export function histogram(ref: Float64Array, cur: Float64Array, bins = 30): { edges: number[]; reference: number[]; current: number[] } {
  const lo = Math.min(ref[0] ?? Number.POSITIVE_INFINITY, cur[0] ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(ref[ref.length - 1] ?? Number.NEGATIVE_INFINITY, cur[cur.length - 1] ?? Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { edges: [], reference: [], current: [] };
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges: number[] = [];
  for (let i = 0; i <= (hi > lo ? bins : 1); i++) edges.push(lo + i * width);
  edges[edges.length - 1] = Math.max(hi, lo + width);
  // binCounts puts (e[i-1], e[i]] in bin i and opens the outer bins, which is what a chart wants too.
  return { edges, reference: binCounts(ref, edges), current: binCounts(cur, edges) };
}

