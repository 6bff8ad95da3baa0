import { describe, expect, it } from 'vitest';
import { sortFloat64, wasserstein1 } from '../../../src/stats/drift/index.js';
import { sample } from './samples.js';

const same = (a: Float64Array, b: Float64Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The step-by-step merge wasserstein1 replaced by a run-by-run one: the results must be equal bit for bit. */
function wassersteinStepwise(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let area = 0;
  let prev = Math.min(a[0] as number, b[0] as number);
  while (i < n1 || j < n2) {
    const takeA = j >= n2 || (i < n1 && (a[i] as number) <= (b[j] as number));
    const v = (takeA ? a[i] : b[j]) as number;
    area += Math.abs(i * n2 - j * n1) * (v - prev);
    prev = v;
    if (takeA) i++;
    else j++;
  }
  return area / n1 / n2;
}

describe('drift statistics on their fast paths', () => {
  it('sorts columns of changing sizes in a row exactly like the built-in sort (scratch space reused)', () => {
    for (const [seed, n] of [
      [1, 200_000],
      [2, 30_000],
      [3, 250_000],
      [4, 5_000],
      [5, 3_000_000], // above the scratch limit: an array of its own
      [6, 100_000],
    ] as const) {
      const values = sample(seed, n, 3, 2, seed % 2 === 0 ? 2 : undefined); // rounded samples have ties
      const expected = Float64Array.from(values).sort();
      expect(same(sortFloat64(Float64Array.from(values)), expected), `seed ${seed}, n ${n}`).toBe(true);
    }
  });

  it('computes wasserstein1 bit for bit as a step-by-step merge, ties and unequal sizes included', () => {
    const cases: [Float64Array, Float64Array][] = [
      [sample(7, 20_000), sample(8, 13_000, 0.3, 1.2)],
      [sample(9, 5_000, 0, 1, 1), sample(10, 7_000, 0.1, 1, 1)],
      [Float64Array.of(1, 1, 2), Float64Array.of(1, 2, 2, 3)],
      [Float64Array.of(5), Float64Array.of(-1, 0, 10)],
    ];
    for (const [x, y] of cases) {
      const a = Float64Array.from(x).sort();
      const b = Float64Array.from(y).sort();
      expect(Object.is(wasserstein1(a, b), wassersteinStepwise(a, b))).toBe(true);
      expect(Object.is(wasserstein1(b, a), wassersteinStepwise(b, a))).toBe(true);
    }
  });
});
