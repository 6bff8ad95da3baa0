import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runBerth } from '../../helpers.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { driftReport } from '../../../src/monitor/drift/index.js';
import { PARALLEL_MIN_VALUES } from '../../../src/monitor/drift/numeric-pass.js';
import { table, writeCsv } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;

function berth(...args: string[]): Promise<CliResult> {
  return runBerth(dir, args);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-drift-cli-'));
  writeCsv(join(dir, 'ref.csv'), table(101, 400, 0));
  writeCsv(join(dir, 'cur.csv'), table(202, 300, 0.25));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = () => ['--reference', join(dir, 'ref.csv'), '--current', join(dir, 'cur.csv')];

describe('berth drift', () => {
  it('prints the report as JSON with exactly the documented fields', async () => {
    const r = await berth('drift', ...files(), '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(['reference_rows', 'current_rows', 'columns', 'drifted_columns', 'drift_share', 'dataset_drift']);
    expect(Object.keys(report.columns[0])).toEqual([
      'column', 'kind', 'method', 'statistic', 'p_value', 'threshold', 'drift', 'missing_reference', 'missing_current',
    ]);
    expect(report).toMatchObject({ reference_rows: 400, current_rows: 300, drifted_columns: 1, dataset_drift: false });
  });

  it('prints a table for people, with the dataset verdict', async () => {
    const r = await berth('drift', ...files(), '--columns', 'x,cat', '--categorical', 'cat', '--method', 'psi', '--drift-share', '0.5');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^COLUMN\s+KIND\s+METHOD/);
    expect(r.stdout).toMatch(/cat\s+categorical\s+psi/);
    expect(r.stdout).toMatch(/of 2 columns drifted/);
    const ks = await berth('drift', ...files(), '--columns', 'x,cat', '--method', 'ks');
    expect(ks.stdout).toMatch(/x\s+numerical\s+ks/);
    expect(ks.stdout).toContain("note: --method ks does not apply to categorical column 'cat'; auto's choice was used there");
  });

  it('reports bad input naming the option, with a non-zero exit', async () => {
    const [method, share, cols, missing] = await Promise.all([
      berth('drift', ...files(), '--method', 'median'),
      berth('drift', ...files(), '--drift-share', 'half', '--json'),
      berth('drift', ...files(), '--columns', 'x,,y'),
      berth('drift', '--reference', join(dir, 'ref.csv')),
    ]);
    expect(method.code).not.toBe(0);
    expect(method.stderr).toMatch(/^error: --method must be one of auto, ks/);
    expect(share.code).not.toBe(0);
    expect(JSON.parse(share.stderr)).toMatchObject({ code: 'BERTH_E_BAD_REQUEST', error: expect.stringContaining('--drift-share') });
    expect(cols.code).not.toBe(0);
    expect(cols.stderr).toMatch(/^error: --columns expects comma-separated column names/);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--current/);
  });
});

describe('berth drift on large files', () => {
  it('analyzes columns on worker threads in the built CLI and reports exactly what the in-process path does', async () => {
    const rows = 360_000; // 3 columns x 2 files: just over the parallel-sort threshold
    expect(3 * 2 * rows).toBeGreaterThan(PARALLEL_MIN_VALUES);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    for (const [name, seed, shift] of [['big-ref', 1, 0], ['big-cur', 2, 0.05]] as const) {
      const u = (k: number) => `((hash(i, ${k}, ${seed}) % 1000003) + 0.5) / 1000003.0`;
      await conn.run(
        `COPY (SELECT ${u(1)} + ${shift} AS a, round(${u(2)} * 1000) AS b, ln(${u(3)}) AS c FROM range(${rows}) t(i)) TO '${join(dir, `${name}.parquet`)}' (FORMAT parquet)`,
      );
    }
    conn.closeSync();
    instance.closeSync();
    const args = ['--reference', join(dir, 'big-ref.parquet'), '--current', join(dir, 'big-cur.parquet')];
    const cli = await berth('drift', ...args, '--method', 'ks', '--json');
    expect(cli.code, cli.stderr).toBe(0);
    const inProcess = await driftReport({ reference: args[1] as string, current: args[3] as string, method: 'ks' });
    expect(JSON.parse(cli.stdout)).toEqual(inProcess.report);
    expect(inProcess.report.columns.map((c) => c.drift)).toEqual([true, false, false]);
  }, 60_000);
});

describe('berth drift --html', () => {
  it('writes one self-contained page that renders the summary and a chart per column in Chromium', async () => {
    const html = join(dir, 'report.html');
    const r = await berth('drift', ...files(), '--html', html);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);

    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install the Debian 'chromium' package`);
      console.warn(`skipping the Chromium rendering check: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
      return;
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const external: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        external.push(url);
        return route.abort();
      });
      await page.goto(pathToFileURL(html).href);
      expect(await page.locator('h1').textContent()).toBe('Data drift report');
      expect(await page.locator('#summary').textContent()).toMatch(/drifted columns\s*1 \/ 4/);
      expect(await page.locator('section.column').count()).toBe(4);
      expect(await page.locator('section.column svg.chart').count()).toBe(4);
      // Every chart draws bars for both datasets, with a real size on screen.
      for (const chart of await page.locator('svg.chart').all()) {
        expect(await chart.locator('rect[fill="#4c78a8"]').count()).toBeGreaterThan(1);
        expect(await chart.locator('rect[fill="#f58518"]').count()).toBeGreaterThan(1);
        const box = await chart.boundingBox();
        expect(box?.width).toBeGreaterThan(300);
      }
      expect(await page.locator('section[data-column="cat"] .badge').textContent()).toBe('drift');
      const shot = join(tmpdir(), 'berth-drift-report.png'); // kept after the run, for people to look at
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(external).toEqual([]);
      console.info(`drift report screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
