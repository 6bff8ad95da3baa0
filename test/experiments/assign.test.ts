import { describe, expect, it } from 'vitest';
import { assignVariant, murmur3, unitPoint } from '../../src/experiments/index.js';
import { chiSquaredUpper, sampleRatioMismatch } from '../../src/stats/ab/index.js';

const N = 100_000;
const ids = Array.from({ length: N }, (_, i) => `user-${i}`);
const exp = (name: string, weights: number[]) => ({
  name,
  variants: weights.map((weight, i) => ({ name: `v${i}`, weight })),
});

describe('murmur3', () => {
  it('is the standard MurmurHash3 x86_32 over UTF-8, so other languages reproduce assignments', () => {
    // published vectors (mmh3.hash('hello') = 613153351, mmh3.hash('foo') = -156908512) and a
    // reference implementation in Python over str.encode('utf-8') for the rest
    expect(murmur3('')).toBe(0);
    expect(murmur3('hello')).toBe(613153351);
    expect(murmur3('foo')).toBe(4138058784);
    expect(murmur3('checkout\0user-42')).toBe(3566869107);
    expect(murmur3('exp\0Zoë 🚀 ünït')).toBe(776275829);
    expect(murmur3('x'.repeat(3000))).toBe(1590607495);
    expect(unitPoint('checkout', 'user-42')).toBe(3566869107 / 2 ** 32);
  });
});

describe('assignVariant', () => {
  it('is sticky: a unit gets the same variant every time, whatever else was assigned', () => {
    const a = exp('checkout', [50, 50]);
    const first = ids.slice(0, 1000).map((id) => assignVariant(a, id));
    const again = ids.slice(0, 1000).reverse().map((id) => assignVariant(exp('checkout', [50, 50]), id)).reverse();
    expect(again).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['v0', 'v1']));
  });

  it.each([
    [[50, 50]],
    [[20, 30, 50]],
    [[90, 10]],
  ])('splits 100k ids as configured (%j) within sampling error (chi-squared p > 0.001)', (weights) => {
    const e = exp('split', weights);
    const counts = new Map<string, number>();
    for (const id of ids) {
      const v = assignVariant(e, id);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const observed = e.variants.map((v) => counts.get(v.name) ?? 0);
    const { p_value } = sampleRatioMismatch(observed, weights);
    expect(p_value).toBeGreaterThan(0.001);
    // and the shares are close in absolute terms (5 standard errors)
    const total = weights.reduce((s, w) => s + w, 0);
    for (const [i, w] of weights.entries()) {
      const p = w / total;
      expect(Math.abs((observed[i] ?? 0) / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    }
  });

  it('is independent across experiments (2x2 chi-squared test of independence, p > 0.001)', () => {
    const a = exp('exp-a', [50, 50]);
    const b = exp('exp-b', [50, 50]);
    const table = [
      [0, 0],
      [0, 0],
    ];
    for (const id of ids) {
      const row = table[assignVariant(a, id) === 'v0' ? 0 : 1];
      const j = assignVariant(b, id) === 'v0' ? 0 : 1;
      if (row) row[j] = (row[j] ?? 0) + 1;
    }
    const rows = table.map((r) => (r[0] ?? 0) + (r[1] ?? 0));
    const cols = [0, 1].map((j) => table.reduce((s, r) => s + (r[j] ?? 0), 0));
    let chi2 = 0;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        const expected = ((rows[i] ?? 0) * (cols[j] ?? 0)) / N;
        chi2 += ((table[i]?.[j] ?? 0) - expected) ** 2 / expected;
      }
    }
    expect(chiSquaredUpper(chi2, 1)).toBeGreaterThan(0.001);
    // the same experiment name would give perfect dependence: the name really enters the hash
    const same = ids.slice(0, 1000).every((id) => assignVariant(a, id) === assignVariant(exp('exp-a', [50, 50]), id));
    const agree = ids.slice(0, 10_000).filter((id) => assignVariant(a, id) === assignVariant(b, id)).length;
    expect(same).toBe(true);
    expect(agree / 10_000).toBeGreaterThan(0.47);
    expect(agree / 10_000).toBeLessThan(0.53);
  });
});
