import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome, type CliResult, runBerth } from '../helpers.js';
import { writeRepo } from './fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let file: string;

/** Runs the real built binary (`npm run build` first). */
function berth(...args: string[]): Promise<CliResult> {
  return runBerth(join(dir, 'home'), args);
}

beforeAll(async () => {
  ({ home: dir, cleanup } = await tempHome());
  file = writeRepo(dir);
  writeFileSync(join(dir, 'entities.csv'), 'driver_id,event_timestamp\n1002,2026-01-01 11:00:00\n1001,2026-01-01 11:00:00\n');
});
afterAll(async () => cleanup());

describe('berth features', () => {
  it('apply prints the plan, then nothing to do', async () => {
    const first = await berth('features', 'apply', file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('+ create feature_view driver_hourly');
    expect(first.stdout).toContain('Applied: 7 to create, 0 to change, 0 to remove');
    const again = await berth('features', 'apply', file, '--json');
    expect(JSON.parse(again.stdout).plan.every((p: { action: string }) => p.action === 'unchanged')).toBe(true);
  });

  it('historical writes the training set', async () => {
    const out = join(dir, 'train.csv');
    const r = await berth('features', 'historical', '--entities', join(dir, 'entities.csv'), '--features', 'driver_hourly:trips,driver_profile:rating', '--output', out, '--full-feature-names');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual([
      'driver_id,event_timestamp,driver_hourly__trips,driver_profile__rating',
      '1002,2026-01-01 11:00:00,5,3.9',
      '1001,2026-01-01 11:00:00,3,4.5',
    ]);
  });

  it('materialize and materialize-incremental report rows per view', async () => {
    const m = await berth('features', 'materialize', '--start', '2026-01-01T00:00:00Z', '--end', '2026-01-01T11:00:00Z', '--json');
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout).map((r: { view: string; rows: number }) => [r.view, r.rows])).toEqual([
      ['driver_hourly', 3],
      ['driver_profile', 0],
    ]);
    const inc = await berth('features', 'materialize-incremental', '--end', '2026-01-01T13:00:00Z');
    expect(inc.code, inc.stderr).toBe(0);
    expect(inc.stdout).toMatch(/driver_hourly\s+2026-01-01T11:00:00.000Z\s+2026-01-01T13:00:00.000Z\s+3/);
    expect(inc.stderr).toMatch(/driver_hourly\s+\[#+\] 100% 3 rows/);
  });

  it('reports bad input with the field and a non-zero exit', async () => {
    writeFileSync(join(dir, 'bad.yaml'), readFileSync(file, 'utf8').replace('dtype: int64', 'dtype: long'));
    // independent invocations run side by side (each CLI start costs about a second)
    const [bad, t, h] = await Promise.all([
      berth('features', 'apply', join(dir, 'bad.yaml')),
      berth('features', 'materialize', '--start', 'yesterday', '--end', 'now'),
      berth('features', 'historical', '--entities', join(dir, 'entities.csv'), '--features', 'driver_hourly:nope', '--output', join(dir, 'x.csv')),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: bad\.yaml:21: feature_views\[0\]\.features\[1\]\.dtype: must be one of/);
    expect(t.code).not.toBe(0);
    expect(t.stderr).toContain('--start must be an ISO 8601 time');
    expect(h.code).not.toBe(0);
    expect(h.stderr).toContain("has no feature 'nope'");
  });
});
