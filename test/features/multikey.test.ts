import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeatureStore, openFeatureStore } from '../../src/features/index.js';
import { tempHome } from '../helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: FeatureStore;

const YAML = `entities:
  - name: pair
    join_keys: [driver_id, rider_id]
sources:
  - name: trips
    path: data/trips.parquet
    timestamp_field: ts
feature_views:
  - name: pair_stats
    entities: [pair]
    source: trips
    ttl: 0
    features:
      - { name: fare, dtype: float64 }
      - { name: rated, dtype: bool }
      - { name: city, dtype: string }
`;

beforeAll(async () => {
  ({ home: dir, cleanup } = await tempHome());
  mkdirSync(join(dir, 'data'));
  writeFileSync(
    join(dir, 'trips.csv'),
    'driver_id,rider_id,ts,fare,rated,city\n1,7,2026-01-01 10:00:00,10.5,true,Oslo\n1,7,2026-01-01 11:00:00,12.25,false,Bergen\n1,8,2026-01-01 10:30:00,3,true,Oslo\n2,7,2026-01-01 09:00:00,7.5,,Oslo\n',
  );
  // a Parquet source, written by DuckDB from the CSV
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`COPY (SELECT * FROM read_csv('${join(dir, 'trips.csv')}')) TO '${join(dir, 'data', 'trips.parquet')}' (FORMAT parquet)`);
  c.closeSync();
  db.closeSync();
  writeFileSync(join(dir, 'repo.yaml'), YAML);
  store = openFeatureStore({ home: join(dir, 'home') });
  await store.apply(join(dir, 'repo.yaml'));
});
afterAll(async () => {
  await store.close();
  await cleanup();
});

describe('entities with several join keys', () => {
  it('joins offline on every key', async () => {
    writeFileSync(join(dir, 'e.csv'), 'rider_id,driver_id,event_timestamp\n7,1,2026-01-01 10:45:00\n8,1,2026-01-01 10:45:00\n7,2,2026-01-01 08:00:00\n');
    const r = await store.historical({ entities: join(dir, 'e.csv'), features: ['pair_stats:fare', 'pair_stats:city'] });
    expect(r.data?.map((x) => [x.fare, x.city])).toEqual([
      [10.5, 'Oslo'],
      [3, 'Oslo'],
      [null, null],
    ]);
  });

  it('materializes and serves by both keys, with bool, string and null values', async () => {
    await store.materialize(0, Date.parse('2026-01-02T00:00:00Z'));
    const r = await store.getOnlineFeatures({
      features: ['pair_stats:fare', 'pair_stats:rated', 'pair_stats:city'],
      entities: { driver_id: [1, 1, 2, 3], rider_id: [7, 8, 7, 7] },
    });
    expect(r.metadata.feature_names).toEqual(['driver_id', 'rider_id', 'fare', 'rated', 'city']);
    expect(r.results.slice(2).map((x) => x.values)).toEqual([
      [12.25, 3, 7.5, null],
      [false, true, null, null],
      ['Bergen', 'Oslo', 'Oslo', null],
    ]);
    expect(r.results[3]?.statuses).toEqual(['PRESENT', 'PRESENT', 'NULL_VALUE', 'NOT_FOUND']);
  });

  it('takes pushed rows under the same key as materialized ones', async () => {
    const now = new Date().toISOString();
    await store.push({ push_source_name: 'trips', df: { driver_id: [1], rider_id: [8], ts: [now], fare: [4], rated: [false], city: ['Tromsø'] } });
    const r = await store.getOnlineFeatures({ features: ['pair_stats:city'], entities: { driver_id: [1], rider_id: [8] } });
    expect(r.results[2]?.values).toEqual(['Tromsø']);
  });
});
