import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runBerth } from '../helpers.js';
import { CONTROL, TREATMENT, WELCH_REF } from '../stats/ab/fixtures.js';

let dir: string;

function berth(...args: string[]): Promise<CliResult> {
  return runBerth(dir, args);
}

let csv: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-exp-cli-'));
  csv = join(dir, 'export.csv');
  const rows = [...CONTROL.map((v) => `control,${v}`), ...TREATMENT.map((v) => `treatment,${v}`)];
  await writeFile(csv, `variant,revenue\n${rows.join('\n')}\n`);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('berth experiments plan', () => {
  it('prints the sample size per arm (statsmodels NormalIndPower: 3834.6 -> 3835)', async () => {
    const r = await berth('experiments', 'plan', '--baseline', '0.1', '--mde', '0.02', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ baseline: 0.1, mde: 0.02, alpha: 0.05, power: 0.8, sample_size_per_arm: 3835 });
    const human = await berth('experiments', 'plan', '--baseline', '0.05', '--mde', '0.01', '--power', '0.9');
    expect(human.stdout).toMatch(/^10901 per arm/);
  });

  it('rejects bad input naming the flag, with a non-zero exit', async () => {
    const [text, range, missing] = await Promise.all([
      berth('experiments', 'plan', '--baseline', 'ten', '--mde', '0.02'),
      berth('experiments', 'plan', '--baseline', '0.1', '--mde', '0.02', '--power', '1.5', '--json'),
      berth('experiments', 'plan', '--baseline', '0.1'),
    ]);
    expect(text.code).not.toBe(0);
    expect(text.stderr).toMatch(/^error: --baseline expects a number, got 'ten'/);
    expect(range.code).not.toBe(0);
    expect(JSON.parse(range.stderr)).toMatchObject({ code: 'BERTH_E_BAD_REQUEST', error: expect.stringContaining('--power') });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--mde/);
  });
});

describe('berth experiments analyze', () => {
  it('prints the analysis as JSON in the documented shape', async () => {
    const r = await berth(
      'experiments', 'analyze', '--input', csv, '--variant-column', 'variant', '--value-column', 'revenue',
      '--kind', 'continuous', '--split', '60,40', '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ kind: 'continuous', control: 'control' });
    expect(out.variants.map((v: { name: string; n: number }) => [v.name, v.n])).toEqual([
      ['control', 40],
      ['treatment', 25],
    ]);
    expect(out.comparisons).toHaveLength(1);
    expect(out.comparisons[0].test).toBe('welch-t');
    expect(out.comparisons[0].p_value).toBeCloseTo(WELCH_REF.treatment.p, 10);
    expect(out.comparisons[0].ci_low).toBeCloseTo(WELCH_REF.treatment.lo, 10);
    // counts 40/25 against a 60/40 split: scipy.stats.chisquare([40, 25], f_exp=[39, 26]).pvalue
    expect(out.srm_p_value).toBeCloseTo(0.8001253795101058, 10);
  });

  it('prints tables for humans', async () => {
    const r = await berth('experiments', 'analyze', '--input', csv, '--variant-column', 'variant', '--value-column', 'revenue', '--kind', 'continuous');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/control\s+40\s+10\.17/);
    expect(r.stdout).toMatch(/treatment\s+-0\.0143\s+\[-1\.80411, 1\.77551\]\s+welch-t/);
    expect(r.stdout).toContain('sample-ratio-mismatch p-value');
  });

  it('reports a missing column or a bad kind with a non-zero exit', async () => {
    const args = ['experiments', 'analyze', '--input', csv, '--value-column', 'revenue'];
    const [col, kind, binary] = await Promise.all([
      berth(...args, '--variant-column', 'arm', '--kind', 'continuous'),
      berth(...args, '--variant-column', 'variant', '--kind', 'ratio'),
      berth(...args, '--variant-column', 'variant', '--kind', 'binary'),
    ]);
    expect(col.code).not.toBe(0);
    expect(col.stderr).toMatch(/^error: --variant-column 'arm' is not a column .*\(columns: variant, revenue\)/);
    expect(kind.code).not.toBe(0);
    expect(kind.stderr).toMatch(/--kind must be binary or continuous/);
    expect(binary.code).not.toBe(0);
    expect(binary.stderr).toMatch(/^error: '.*export\.csv' data row 1: value column 'revenue' has '9\.25'; a binary metric needs 0 or 1/);
  });
});
