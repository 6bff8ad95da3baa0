import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBerthError } from '../../src/errors.js';
import { openFeatureStore, parseRepo } from '../../src/features/index.js';
import { tempHome } from '../helpers.js';
import { repoYaml, writeRepo } from './fixture.js';

function errorOf(fn: () => unknown): { message: string; field?: string } {
  try {
    fn();
  } catch (e) {
    if (isBerthError(e)) return { message: e.message, field: e.field };
    throw e;
  }
  throw new Error('expected an error');
}

describe('feature definitions', () => {
  it('parses the issue example, resolving paths against the file', () => {
    const repo = parseRepo(repoYaml(), '/repo');
    expect(repo.entities).toEqual([
      { name: 'driver', join_keys: ['driver_id'] },
      { name: 'pair', join_keys: ['driver_id', 'rider_id'] },
    ]);
    expect(repo.sources[0]).toMatchObject({ path: '/repo/data/driver_stats.csv', format: 'csv', created_timestamp_field: 'created' });
    expect(repo.feature_views[0]).toMatchObject({ name: 'driver_hourly', ttl_seconds: 7200 });
    expect(repo.feature_views[1]).toMatchObject({ ttl_seconds: 0 });
    expect(repo.feature_services[0]?.features).toEqual([
      { view: 'driver_hourly', feature: 'conv_rate' },
      { view: 'driver_hourly', feature: 'trips' },
    ]);
  });

  it('names the line and the field of a bad value', () => {
    const bad = repoYaml().replace('ttl: 2h', 'ttl: 2 hours');
    const line = bad.split('\n').findIndex((l) => l.includes('2 hours')) + 1;
    const e = errorOf(() => parseRepo(bad, '/r', 'f.yaml'));
    expect(e.message).toContain(`f.yaml:${line}: feature_views[0].ttl:`);
    expect(e.field).toBe('feature_views[0].ttl');
  });

  it('rejects unknown dtypes, entities, features and fields with their line', () => {
    const text = repoYaml().replace('dtype: int64', 'dtype: int128');
    const line = text.split('\n').findIndex((l) => l.includes('int128')) + 1;
    const dtype = errorOf(() => parseRepo(text, '/r'));
    expect(line).toBe(21);
    expect(dtype.message).toMatch(/:21: feature_views\[0\]\.features\[1\]\.dtype: must be one of bool/);
    expect(errorOf(() => parseRepo(repoYaml().replace('entities: [driver]', 'entities: [rider]'), '/r')).message).toMatch(/unknown entity 'rider'/);
    expect(errorOf(() => parseRepo(repoYaml().replace('driver_hourly:trips', 'driver_hourly:trip'), '/r')).message).toMatch(
      /feature_services\[0\]\.features\[1\]: feature view 'driver_hourly' has no feature 'trip'/,
    );
    expect(errorOf(() => parseRepo(repoYaml().replace('join_keys: [driver_id]', 'joinkeys: [driver_id]'), '/r')).field).toBe('entities[0].joinkeys');
    expect(errorOf(() => parseRepo('entities: [\n  - x', '/r')).message).toMatch(/not valid YAML/);
  });
});

describe('features apply', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('prints a plan and applies idempotently: create, then unchanged, then change and remove', async () => {
    const t = await tempHome();
    cleanup = t.cleanup;
    const file = writeRepo(t.home);
    const store = openFeatureStore({ home: join(t.home, 'home') });
    try {
      const first = await store.apply(file);
      expect(first.changed).toBe(true);
      expect(first.plan.every((p) => p.action === 'create')).toBe(true);
      expect(first.plan).toHaveLength(7);
      const again = await store.apply(file);
      expect(again.changed).toBe(false);
      expect(again.plan.every((p) => p.action === 'unchanged')).toBe(true);
      writeRepo(t.home, { ttl: '3h', withDaily: false });
      const third = await store.apply(file);
      const byName = Object.fromEntries(third.plan.map((p) => [`${p.kind}:${p.name}`, p.action]));
      expect(byName).toMatchObject({
        'feature_view:driver_hourly': 'change',
        'feature_view:driver_profile': 'remove',
        'source:driver_daily': 'remove',
        'entity:driver': 'unchanged',
      });
      expect(store.definitions().feature_views.map((v) => v.name)).toEqual(['driver_hourly']);
    } finally {
      await store.close();
    }
  });

  it('refuses a source missing a declared column, naming it', async () => {
    const t = await tempHome();
    cleanup = t.cleanup;
    const file = writeRepo(t.home, { extraFeature: false });
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('trips', 'trips_total'));
    const store = openFeatureStore({ home: join(t.home, 'home') });
    try {
      await expect(store.apply(file)).rejects.toThrow(/source 'driver_stats' .* has no column 'trips_total'/);
      expect(store.definitions().feature_views).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
