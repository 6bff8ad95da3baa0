import { describe, expect, it } from 'vitest';
import { sortFloat64 } from '../../../src/stats/drift/index.js';
import { sample } from './samples.js';

/** Bit-for-bit equality, so that -0 and +0 count as different. */
const same = (a: Float64Array, b: Float64Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function expectSortedLikeBuiltin(values: Float64Array, label: string): void {
  const expected = Float64Array.from(values).sort();
  const input = Float64Array.from(values);
  const actual = sortFloat64(input);
  expect(actual, label).toBe(input); // in place
  expect(same(actual, expected), label).toBe(true);
}

describe('sortFloat64 (two-level bucket sort)', () => {
  const n = 200_000;
  const noise = sample(42, n);
  const shapes: [string, (x: number, i: number) => number][] = [
    ['normal', (x) => x],
    ['shifted and scaled', (x) => 1e6 + 3e4 * x],
    ['tiny scale', (x) => x * 1e-300],
    ['all negative', (x) => -5 - Math.abs(x)],
    ['heavy right tail', (x) => Math.exp(4 * x)],
    ['heavy tails both sides', (x) => Math.sinh(6 * x)],
    ['few distinct values', (x) => Math.round(x)],
    ['a spike: half of the values equal', (x, i) => (i % 2 === 0 ? 0.25 : x)],
    ['-0 and +0 mixed among others', (x, i) => (i % 7 === 0 ? -0 : i % 5 === 0 ? 0 : x)],
    ['only zeros of both signs', (_, i) => (i % 3 === 0 ? -0 : 0)],
    ['infinities among finite values', (x, i) => (i % 1000 === 0 ? Number.POSITIVE_INFINITY : i % 997 === 0 ? Number.NEGATIVE_INFINITY : x)],
    ['only infinities', (_, i) => (i % 2 === 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY)],
    ['a range too wide for doubles', (x, i) => (i === 3 ? 1.7e308 : i === 9 ? -1.7e308 : x)],
    ['constant', () => 3.5],
    ['one outlier', (x, i) => (i === 77 ? 1e12 : x)],
    ['sorted already', (_, i) => i / 3],
    ['reversed', (_, i) => -i / 3],
    ['integers with many ties', (x) => Math.floor((x + 6) * 20)],
    ['subnormals', (x) => x * 5e-324 * 1e3],
  ];
  for (const [name, shape] of shapes) {
    it(`orders ${name} exactly as Float64Array.prototype.sort does`, () => {
      expectSortedLikeBuiltin(noise.map(shape), name);
    });
  }

  it('handles sizes around its thresholds, and sub-arrays of a larger buffer', () => {
    for (const size of [0, 1, 2, 4095, 4096, 4097, 8191, 65_537]) {
      expectSortedLikeBuiltin(sample(size + 1, size, 0, 2), `n ${size}`);
    }
    const whole = sample(5, 300_000);
    const view = whole.subarray(1_000, 251_000);
    const expected = Float64Array.from(view).sort();
    sortFloat64(view);
    expect(same(view, expected)).toBe(true);
    expect(whole[999]).toBe(sample(5, 1_000)[999]); // neighbours untouched
  });

  it('sorts 1M values of a mixture (bins of very different sizes) like the built-in sort', () => {
    const a = sample(11, 1_000_000, 0, 1);
    const mixed = a.map((x, i) => (i % 10 === 0 ? 100 + x * 1e-3 : i % 10 === 1 ? Math.round(x * 4) : x));
    expectSortedLikeBuiltin(mixed, 'mixture');
  });
});
