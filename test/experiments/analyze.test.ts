import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/experiments/index.js';
import { BINARY_ARMS, BINARY_REF, CONTROL, TREATMENT, VARIANT_B, WELCH_REF } from '../stats/ab/fixtures.js';

let dir: string;

/** Interleaves the arms' rows (as an export would) so that order carries no information. */
function interleave(arms: Record<string, readonly number[]>): [string, number][] {
  const queues = Object.entries(arms).map(([name, values]) => ({ name, values: [...values] }));
  const rows: [string, number][] = [];
  while (queues.some((q) => q.values.length)) {
    for (const q of queues) {
      const v = q.values.shift();
      if (v !== undefined) rows.push([q.name, v]);
    }
  }
  return rows;
}

const bits = ([n, x]: readonly [number, number]) => Array.from({ length: n }, (_, i) => (i < x ? 1 : 0));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

// scipy.stats.chisquare([40, 25, 33]).pvalue, and with f_exp for a 40/30/30 split
const SRM_CONTINUOUS = 0.17826397958504792;
const SRM_CONTINUOUS_403030 = 0.572453866546792;
// scipy.stats.chisquare([1000, 980, 1010]).pvalue
const SRM_BINARY = 0.7912718333805047;

const close = (actual: number, expected: number, rel = 1e-8) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));

let continuousCsv: string;
let binaryJsonl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-exp-test-'));
  const rows = interleave({ treatment: TREATMENT, control: CONTROL, variant_b: VARIANT_B });
  continuousCsv = await file(
    'continuous.csv',
    `user,arm,revenue\n${rows.map(([arm, v], i) => `"user, ${i}",${arm},${v}`).join('\n')}\n`,
  );
  const binRows = interleave({
    variant_b: bits(BINARY_ARMS.variant_b),
    control: bits(BINARY_ARMS.control),
    treatment: bits(BINARY_ARMS.treatment),
  });
  binaryJsonl = await file(
    'binary.jsonl',
    `${binRows.map(([arm, v], i) => JSON.stringify({ unit: `u${i}`, arm, converted: v === 1 })).join('\n')}\n`,
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('offline analysis of an exported file', () => {
  it("analyses a continuous metric with Welch's t-test, control first, matching scipy", async () => {
    const r = await analyzeFile({ input: continuousCsv, variantColumn: 'arm', valueColumn: 'revenue', kind: 'continuous' });
    expect(Object.keys(r)).toEqual(['kind', 'control', 'variants', 'comparisons', 'srm_p_value']);
    expect(r.kind).toBe('continuous');
    expect(r.control).toBe('control');
    expect(r.variants.map((v) => [v.name, v.n])).toEqual([
      ['control', 40],
      ['treatment', 25],
      ['variant_b', 33],
    ]);
    close(r.variants[0]!.mean, WELCH_REF.control.mean, 1e-12);
    close(r.variants[0]!.std, WELCH_REF.control.std, 1e-12);
    for (const c of r.comparisons) {
      const ref = WELCH_REF[c.variant as 'treatment' | 'variant_b'];
      expect(Object.keys(c)).toEqual(['variant', 'difference', 'ci_low', 'ci_high', 'test', 'statistic', 'p_value', 'significant']);
      expect(c.test).toBe('welch-t');
      close(c.difference, ref.diff);
      close(c.statistic, ref.t);
      close(c.p_value, ref.p);
      close(c.ci_low, ref.lo);
      close(c.ci_high, ref.hi);
      expect(c.significant).toBe(false);
    }
    close(r.srm_p_value, SRM_CONTINUOUS);
  });

  it('analyses a binary metric (true/false in JSON lines) with the pooled z-test, matching statsmodels', async () => {
    const r = await analyzeFile({ input: binaryJsonl, variantColumn: 'arm', valueColumn: 'converted', kind: 'binary', alpha: 0.1 });
    expect(r.control).toBe('control');
    expect(r.variants.map((v) => v.name)).toEqual(['control', 'treatment', 'variant_b']);
    expect(r.variants[1]).toMatchObject({ n: 980, mean: 125 / 980 });
    close(r.variants[1]!.std, BINARY_REF.treatment.std);
    const [t, b] = r.comparisons;
    expect(t).toMatchObject({ variant: 'treatment', test: 'two-proportion-z', significant: true });
    close(t!.statistic, BINARY_REF.treatment.z);
    close(t!.p_value, BINARY_REF.treatment.p);
    expect(b).toMatchObject({ variant: 'variant_b', significant: false });
    close(b!.statistic, BINARY_REF.variant_b.z);
    close(r.srm_p_value, SRM_BINARY);
  });

  it('uses the split for the SRM check, by position (control first) or by name', async () => {
    const opts = { input: continuousCsv, variantColumn: 'arm', valueColumn: 'revenue', kind: 'continuous' as const };
    close((await analyzeFile({ ...opts, split: '40,30,30' })).srm_p_value, SRM_CONTINUOUS_403030);
    close((await analyzeFile({ ...opts, split: 'variant_b=30,control=40,treatment=30' })).srm_p_value, SRM_CONTINUOUS_403030);
    await expect(analyzeFile({ ...opts, split: '50,50' })).rejects.toThrow(/--split has 2 weight\(s\) but the data has 3 variants/);
    await expect(analyzeFile({ ...opts, split: '50,x,50' })).rejects.toThrow(/--split weights must be positive/);
  });

  it('takes --control, and otherwise the first variant in sorted order when none is named control', async () => {
    const path = await file('ab[1].csv', 'variant,y\nB,1.5\nA,2\nB,2.5\nA,3\nA,4\n');
    const r = await analyzeFile({ input: path, variantColumn: 'variant', valueColumn: 'y', kind: 'continuous' });
    expect(r.control).toBe('A');
    expect(r.comparisons[0]).toMatchObject({ variant: 'B', difference: 2 - 3 });
    expect(r.comparisons[0]!.statistic).toBeLessThan(0);
    const flipped = await analyzeFile({ input: path, variantColumn: 'variant', valueColumn: 'y', kind: 'continuous', control: 'B' });
    expect(flipped.comparisons[0]).toMatchObject({ variant: 'A', difference: 1 });
    expect(flipped.comparisons[0]!.statistic).toBeGreaterThan(0);
    await expect(
      analyzeFile({ input: path, variantColumn: 'variant', valueColumn: 'y', kind: 'continuous', control: 'C' }),
    ).rejects.toThrow(/--control 'C' is not a variant in the data \(variants: A, B\)/);
  });

  it('reads JSON lines whose values mix numbers, strings and booleans', async () => {
    const path = await file('mixed.ndjson', '{"arm":1,"y":1}\n{"arm":2,"y":"0"}\n{"arm":2,"y":true}\n{"arm":1,"y":false}\n');
    const r = await analyzeFile({ input: path, variantColumn: 'arm', valueColumn: 'y', kind: 'binary' });
    expect(r.variants).toEqual([
      { name: '1', n: 2, mean: 0.5, std: Math.SQRT1_2 },
      { name: '2', n: 2, mean: 0.5, std: Math.SQRT1_2 },
    ]);
    expect(r.comparisons[0]).toMatchObject({ difference: 0, statistic: 0, p_value: 1, significant: false });
  });

  it('reads Parquet exports too', async () => {
    const duckdb = await import('@duckdb/node-api');
    const instance = await duckdb.DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const path = join(dir, 'export.parquet');
    await connection.run(
      `COPY (SELECT * FROM read_csv('${continuousCsv}', header = true)) TO '${path}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    const r = await analyzeFile({ input: path, variantColumn: 'arm', valueColumn: 'revenue', kind: 'continuous' });
    close(r.comparisons[0]!.p_value, WELCH_REF.treatment.p);
    close(r.srm_p_value, SRM_CONTINUOUS);
  });

  it('reports bad input naming the field and the row', async () => {
    const base = { variantColumn: 'arm', valueColumn: 'y', kind: 'binary' as const };
    const notBinary = await file('notbinary.csv', 'arm,y\na,1\nb,0\na,2\n');
    await expect(analyzeFile({ ...base, input: notBinary })).rejects.toThrow(/data row 3: value column 'y' has '2'; a binary metric needs 0 or 1/);
    const text = await file('text.csv', 'arm,y\na,1.5\nb,abc\n');
    await expect(analyzeFile({ ...base, kind: 'continuous', input: text })).rejects.toThrow(/data row 2: value column 'y' has 'abc'/);
    const empty = await file('empty.csv', 'arm,y\na,1\n,0\n');
    await expect(analyzeFile({ ...base, input: empty })).rejects.toThrow(/data row 2: the variant column 'arm' is empty/);
    const one = await file('one.csv', 'arm,y\na,1\na,0\n');
    await expect(analyzeFile({ ...base, input: one })).rejects.toThrow(/at least 2 variants, the data has 1 \(a\)/);
    await expect(analyzeFile({ ...base, valueColumn: 'nope', input: one })).rejects.toMatchObject({
      field: 'value-column',
      message: expect.stringContaining("--value-column 'nope' is not a column"),
    });
    await expect(analyzeFile({ ...base, input: join(dir, 'missing.csv') })).rejects.toThrow(/--input .* not found/);
    await expect(analyzeFile({ ...base, input: await file('data.xlsx', 'x') })).rejects.toThrow(/unknown input format/);
    const single = await file('single.csv', 'arm,y\na,1\nb,2\nb,3\n');
    await expect(analyzeFile({ ...base, kind: 'continuous', input: single })).rejects.toThrow(/variant 'a' has 1 observation; Welch's t-test needs at least 2 per variant/);
  });
});
