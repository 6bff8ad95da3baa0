import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCore } from '../../src/core.js';
import { buildWeatherDemo, LABEL_COLUMN, type WeatherDemo } from '../../src/demo/index.js';
import { tempHome, type CliResult, runBerth } from '../helpers.js';

let home: string;
let cleanup: () => Promise<void>;
let demo: WeatherDemo;

function berth(...args: string[]): Promise<CliResult> {
  return runBerth(home, args);
}

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  const core = await openCore({ home });
  demo = await buildWeatherDemo(join(home, 'demo'));
  await core.registry.register('weather', { path: demo.modelPath }, { reference: { path: demo.referencePath, labelColumn: LABEL_COLUMN } });
  await core.close();
});
afterAll(async () => cleanup());

describe('berth batch', () => {
  it('writes the output, logs progress lines off a terminal and prints a JSON summary', async () => {
    const out = join(home, 'out.jsonl');
    const human = await berth('batch', 'weather:1', '--input', demo.livePath, '--output', out, '--batch-size', '50');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^Wrote 365 rows to .*out\.jsonl with weather:1 in [\d.]+ s \(\d+ rows\/s\)\n$/);
    expect(human.stderr).toMatch(/batch weather:1: \d+\/~?\d+ rows, \d+ rows\/s, ETA \S+, 0 bad rows/);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(365);

    const bad = join(home, 'bad.csv');
    writeFileSync(bad, 'wind,temp_min,temp_max,precipitation\n1,2,3,4\n1,2,oops,4\n');
    const j = await berth('batch', 'weather', '--input', bad, '--output', join(home, 'bad.parquet'), '--json');
    expect(j.code, j.stderr).toBe(0);
    const summary = JSON.parse(j.stdout);
    expect(summary).toMatchObject({ model: 'weather', version: 1, rows_read: 2, rows_written: 1, errors: 1 });
    expect(readFileSync(summary.error_file, 'utf8')).toContain(`"row":2,"reason":"column 'temp_max': 'oops' is not a number"`);
  });

  it('fails with a message naming the flag or file and a non-zero exit', async () => {
    const out = join(home, 'x.csv');
    const r1 = await berth('batch', 'weather', '--input', demo.livePath, '--output', out, '--batch-size', 'ten');
    expect(r1.code).toBe(1);
    expect(r1.stderr).toBe("error: --batch-size must be a positive integer, got 'ten'\n");
    const r2 = await berth('batch', 'weather', '--input', join(home, 'nope.csv'), '--output', out);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^error: input '.*nope\.csv' not found\n$/);
    const r3 = await berth('batch', 'weather', '--input', demo.livePath, '--output', out, '--columns', 'a,,b', '--json');
    expect(r3.code).toBe(1);
    expect(JSON.parse(r3.stderr)).toMatchObject({ code: 'BERTH_E_BAD_REQUEST' });
    const r4 = await berth('batch', 'weather', '--input', demo.livePath);
    expect(r4.code).not.toBe(0);
    expect(r4.stderr).toContain("required option '--output <file>' not specified");
    expect(existsSync(out)).toBe(false);
  });
});
