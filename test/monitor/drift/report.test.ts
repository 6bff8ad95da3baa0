/**
 * End-to-end checks of `driftReport` on seeded tables (see fixtures.ts). scipy 1.10.1 values from:
 *
 *   ref, cur = table(101, 400, 0), table(202, 300, 0.25)     # same LCG/Irwin–Hall generator as fixtures.ts
 *   col = lambda rows, j: [r[j] for r in rows if r[j] is not None]
 *   stats.ks_2samp(col(ref, 0), col(cur, 0)); stats.ks_2samp(col(ref, 1), col(cur, 1))
 *   stats.chi2_contingency([[counts of a..d in ref], [counts in cur]], correction=False)   # cat, and k
 *   stats.wasserstein_distance(col(ref, 0), col(cur, 0)) / np.std(col(ref, 0))
 *   jensenshannon(ref_cat_counts / sum, cur_cat_counts / sum)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DriftOptions, driftReport } from '../../../src/monitor/drift/index.js';
import { csvToParquet, table, writeCsv } from './fixtures.js';

const SCIPY = {
  x: [0.09455224143395428, 0.09386124385825839],
  y: [0.041666666666666664, 0.9165462793054107],
  cat: [61.427936117132475, 2.911528820440879e-13],
  k: [2.435771397960396, 0.29585503271142716],
  xWasserstein: 0.19018724423010738,
  catJs: 0.2147333622504608,
};

let dir: string;
const path = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-drift-test-'));
  writeCsv(path('ref.csv'), table(101, 400, 0));
  writeCsv(path('cur.csv'), table(202, 300, 0.25));
  writeCsv(path('big.csv'), table(303, 1500, 0));
  await csvToParquet(path('ref.csv'), path('ref.parquet'));
  await csvToParquet(path('cur.csv'), path('cur.parquet'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (o: Partial<DriftOptions>) => driftReport({ reference: path('ref.csv'), current: path('cur.csv'), ...o });
const col = (r: Awaited<ReturnType<typeof run>>, name: string) => r.report.columns.find((c) => c.column === name);

describe('driftReport (auto)', () => {
  it('uses ks and chi2 for a reference of at most 1,000 rows, matching scipy', async () => {
    const r = await run({});
    expect(r.report).toMatchObject({ reference_rows: 400, current_rows: 300 });
    expect(r.report.columns.map((c) => [c.column, c.kind, c.method])).toEqual([
      ['x', 'numerical', 'ks'],
      ['y', 'numerical', 'ks'],
      ['cat', 'categorical', 'chi2'],
      ['k', 'categorical', 'chi2'], // 3 distinct values: categorical although numeric
    ]);
    const x = col(r, 'x');
    expect(x?.statistic).toBeCloseTo(SCIPY.x[0] as number, 12);
    expect(x?.p_value).toBeCloseTo(SCIPY.x[1] as number, 9);
    expect(col(r, 'y')?.p_value).toBeCloseTo(SCIPY.y[1] as number, 9);
    expect(col(r, 'cat')?.statistic).toBeCloseTo(SCIPY.cat[0] as number, 9);
    expect((col(r, 'cat')?.p_value as number) / (SCIPY.cat[1] as number)).toBeCloseTo(1, 6);
    expect(col(r, 'k')?.p_value).toBeCloseTo(SCIPY.k[1] as number, 9);
    expect(r.report.columns.map((c) => c.drift)).toEqual([false, false, true, false]);
    expect(r.report).toMatchObject({ drifted_columns: 1, drift_share: 0.25, dataset_drift: false });
  });

  it('counts missing values per column and leaves them out of the statistics', async () => {
    const r = await run({});
    // Rows 5, 42, 79, … of x and 7, 57, 107, … of cat are empty.
    expect(col(r, 'x')).toMatchObject({ missing_reference: 11, missing_current: 8 });
    expect(col(r, 'cat')).toMatchObject({ missing_reference: 8, missing_current: 6 });
    expect(col(r, 'y')).toMatchObject({ missing_reference: 0, missing_current: 0 });
  });

  it('uses wasserstein and jensenshannon above 1,000 reference rows', async () => {
    const r = await driftReport({ reference: path('big.csv'), current: path('cur.csv') });
    expect(r.report.columns.map((c) => c.method)).toEqual(['wasserstein', 'wasserstein', 'jensenshannon', 'jensenshannon']);
    expect(col(r, 'x')?.threshold).toBe(0.1);
    expect(col(r, 'x')?.p_value).toBeNull();
  });

  it('reads Parquet the same as CSV', async () => {
    const csv = await run({});
    const parquet = await driftReport({ reference: path('ref.parquet'), current: path('cur.parquet') });
    expect(parquet.report).toEqual(csv.report);
  });
});

describe('driftReport options', () => {
  it('runs an explicit method on the columns it fits, matching scipy', async () => {
    const w = await run({ method: 'wasserstein', columns: ['x'] });
    expect(w.report.columns).toHaveLength(1);
    expect(col(w, 'x')?.statistic).toBeCloseTo(SCIPY.xWasserstein, 12);
    expect(col(w, 'x')?.drift).toBe(true);
    const js = await run({ method: 'jensenshannon', columns: ['cat'] });
    expect(col(js, 'cat')?.statistic).toBeCloseTo(SCIPY.catJs, 12);
    const psi = await run({ method: 'psi' });
    expect(psi.report.columns.every((c) => c.method === 'psi' && c.p_value === null)).toBe(true);
  });

  it('treats --categorical columns as categories and applies the drift share', async () => {
    const r = await run({ categorical: ['y'], driftShare: 0.25 });
    expect(col(r, 'y')).toMatchObject({ kind: 'categorical', method: 'chi2' });
    expect(r.report.dataset_drift).toBe(true);
  });

  it('rejects bad input with an error naming the option', async () => {
    const cases: [Partial<DriftOptions>, RegExp, string][] = [
      [{ reference: path('nope.csv') }, /reference dataset .* not found/, '--reference'],
      [{ columns: ['x', 'zz'] }, /column 'zz' is not in the reference/, '--columns'],
      [{ categorical: ['zz'] }, /--categorical column 'zz'/, '--categorical'],
      [{ method: 'median' as DriftOptions['method'] }, /unknown drift method 'median'/, '--method'],
      [{ driftShare: 0 }, /--drift-share must be a number in \(0, 1\]/, '--drift-share'],
    ];
    for (const [o, message, field] of cases) {
      await expect(run(o)).rejects.toMatchObject({ code: 'BERTH_E_BAD_REQUEST', message: expect.stringMatching(message), field });
    }
  });

  it('rejects files it cannot compare', async () => {
    writeFileSync(path('other.csv'), 'a,b\n1,2\n');
    writeFileSync(path('empty.csv'), 'x,y,cat,k\n');
    writeFileSync(path('fake.parquet'), 'not parquet');
    writeFileSync(path('data.json'), '{}');
    await expect(run({ current: path('other.csv') })).rejects.toThrow(/column 'x' is in the reference but not in the current/);
    await expect(run({ current: path('empty.csv') })).rejects.toThrow(/current dataset .* has no rows/);
    await expect(run({ current: path('fake.parquet') })).rejects.toThrow(/not a Parquet file/);
    await expect(run({ reference: path('data.json') })).rejects.toThrow(/unknown format for reference dataset/);
    await expect(run({ reference: dir })).rejects.toThrow(/is a directory/);
  });

  it('reports no statistic for a column with no values on one side, and calls it drift', async () => {
    writeFileSync(path('blank.csv'), `x,y,cat,k\n${Array.from({ length: 20 }, (_, i) => `,${i},,${i % 2}`).join('\n')}\n`);
    const r = await run({ current: path('blank.csv') });
    expect(col(r, 'x')).toMatchObject({ statistic: null, p_value: null, drift: true, missing_current: 20 });
  });
});
