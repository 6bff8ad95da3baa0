import { describe, expect, it } from 'vitest';
import { KLL_RANK_ERROR, KllSketch } from '../../src/monitor/index.js';
import { compareColumn } from '../../src/monitor/live/compare.js';
import { summarizeColumn } from '../../src/monitor/live/reference.js';
import { ColumnSummary, SlidingWindow } from '../../src/monitor/live/summary.js';
import { ks2Samp, stdDev, wasserstein1 } from '../../src/stats/drift/index.js';

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}
const normal = (r: () => number) => () => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());

/** The largest distance between q and the true rank range of the sketch's q-quantile, over q = 0.005..0.995. */
function maxRankError(sketch: KllSketch, sorted: Float64Array): number {
  const n = sorted.length;
  let worst = 0;
  for (let q = 0.005; q < 1; q += 0.005) {
    const v = sketch.quantile(q);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    const below = lo;
    let le = below;
    while (le < n && sorted[le] === v) le++;
    const err = q * n < below ? (below - q * n) / n : q * n > le ? (q * n - le) / n : 0;
    worst = Math.max(worst, err);
  }
  return worst;
}

const N = 100_000;
const sources: [string, (i: number, r: () => number) => number][] = [
  ['normal', (_i, r) => normal(r)()],
  ['exponential', (_i, r) => -Math.log(r())],
  ['sorted', (i) => i],
  ['reversed', (i) => N - i],
  ['few distinct values', (_i, r) => Math.floor(r() * 7)],
];

describe('KLL sketch', () => {
  for (const [name, gen] of sources) {
    it(`keeps the rank error of every quantile within ${KLL_RANK_ERROR * 100}% on ${name} data`, () => {
      const r = rng(name.length * 7919);
      const values = Float64Array.from({ length: N }, (_, i) => gen(i, r));
      const sketch = new KllSketch();
      for (const v of values) sketch.update(v);
      expect(sketch.count).toBe(N);
      const err = maxRankError(sketch, values.slice().sort());
      expect(err).toBeLessThanOrEqual(KLL_RANK_ERROR);
      // bounded memory: a few hundred retained values, not N
      expect(sketch.weighted().values.length).toBeLessThan(1000);
    });
  }

  it('merges sketches of parts into one as accurate as a sketch of the whole', () => {
    const r = rng(42);
    const values = Float64Array.from({ length: N }, normal(r));
    const merged = new KllSketch();
    for (let p = 0; p < 10; p++) {
      const part = new KllSketch(undefined, p + 2);
      for (let i = p * (N / 10); i < (p + 1) * (N / 10); i++) part.update(values[i] as number);
      merged.merge(part);
    }
    expect(merged.count).toBe(N);
    expect(maxRankError(merged, values.slice().sort())).toBeLessThanOrEqual(KLL_RANK_ERROR);
  });

  it('keeps small samples exactly', () => {
    const s = new KllSketch();
    for (const v of [5, 1, 4, 2, 3]) s.update(v);
    expect([...s.sample(100)]).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('drift statistics from sketches', () => {
  it('agree with the exact statistics on the raw data within the sketch error', () => {
    const r = rng(7);
    const g = normal(r);
    const ref = Float64Array.from({ length: 5000 }, g);
    const cur = Float64Array.from({ length: 50_000 }, () => g() * 1.1 + 0.15);
    const summary = new ColumnSummary();
    for (const v of cur) summary.add(v);
    const refCol = summarizeColumn(Array.from(ref));
    const sortedRef = ref.slice().sort();
    const sortedCur = cur.slice().sort();
    const w = compareColumn('x', refCol, summary, 5000, 'wasserstein').drift;
    const exactW = wasserstein1(sortedRef, sortedCur) / stdDev(sortedRef);
    expect(w.statistic as number).toBeCloseTo(exactW, 1);
    expect(Math.abs((w.statistic as number) - exactW)).toBeLessThan(0.02);
    const ks = compareColumn('x', refCol, summary, 5000, 'ks').drift;
    const exactKs = ks2Samp(sortedRef, sortedCur);
    expect(Math.abs((ks.statistic as number) - exactKs.statistic)).toBeLessThanOrEqual(KLL_RANK_ERROR);
    expect(ks.drift).toBe(true);
    expect(exactKs.pValue).toBeLessThan(0.05);
  });

  it('slides by whole buckets: a bucket leaves once it ends before the window starts', () => {
    const w = new SlidingWindow(60_000, 6, 1); // 10 s buckets
    w.bucketAt(0)?.columns[0]?.add(1);
    w.bucketAt(30_000)?.columns[0]?.add(2);
    w.bucketAt(65_000)?.columns[0]?.add(3);
    expect(w.merged(65_000).columns[0]?.present).toBe(3); // [0, 10 s) still overlaps (5 s, 65 s]
    expect(w.merged(75_000).columns[0]?.present).toBe(2);
    expect(w.merged(105_000).columns[0]?.present).toBe(1);
    expect(w.merged(75_000, 20_000).columns[0]?.present).toBe(1);
    expect(w.bucketAt(1_000)).toBeUndefined(); // too old to count
  });
});
