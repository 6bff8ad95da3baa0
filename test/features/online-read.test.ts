import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeatureStore, openFeatureStore, SqliteOnlineStore } from '../../src/features/index.js';
import { tempHome } from '../helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: FeatureStore;

// two views keyed by one entity, one keyed by two join keys; strings that need escaping, booleans, nulls
const YAML = `entities:
  - name: driver
    join_keys: [driver_id]
  - name: pair
    join_keys: [driver_id, rider_id]
sources:
  - name: events
    path: events.csv
    timestamp_field: ts
feature_views:
  - name: info
    entities: [driver]
    source: events
    ttl: 0
    features:
      - { name: label, dtype: string }
      - { name: active, dtype: bool }
  - name: stats
    entities: [driver]
    source: events
    ttl: 1h
    features:
      - { name: score, dtype: float64 }
      - { name: trips, dtype: int64 }
  - name: pair_stats
    entities: [pair]
    source: events
    ttl: 0
    features:
      - { name: fare, dtype: float32 }
feature_services:
  - name: everything
    features: [info:label, stats:score, info:active, pair_stats:fare, stats:trips]
`;

beforeAll(async () => {
  ({ home: dir, cleanup } = await tempHome());
  writeFileSync(join(dir, 'events.csv'), 'driver_id,rider_id,ts,label,active,score,trips,fare\n1,7,2026-01-01 10:00:00,a,true,0.5,1,2.5\n');
  writeFileSync(join(dir, 'features.yaml'), YAML);
  store = openFeatureStore({ home: join(dir, 'home') });
  await store.apply(join(dir, 'features.yaml'));
  const now = Date.now() / 1000;
  await store.push({
    push_source_name: 'events',
    df: {
      driver_id: [1, 2, 3],
      rider_id: [7, 7, 8],
      ts: [now, now - 7200, now],
      label: ['say "hi"\n\\ ü 😀', null, ''],
      active: [true, false, null],
      score: [0.1 + 0.2, -1e-7, 12345678901234.5],
      trips: [3, 0, 2 ** 53 - 1],
      fare: [0.1, null, 1e21],
    },
  });
});
afterAll(async () => {
  await store.close();
  await cleanup();
});

describe('online reads', () => {
  it('answers one entity across several views with values, nulls and expired rows in place', async () => {
    const r = await store.getOnlineFeatures({ service: 'everything', entities: { driver_id: [2], rider_id: [7] } });
    expect(r.metadata.feature_names).toEqual(['driver_id', 'rider_id', 'label', 'score', 'active', 'fare', 'trips']);
    expect(r.results.map((x) => x.values[0])).toEqual([2, 7, null, null, false, null, null]);
    expect(r.results.map((x) => x.statuses[0])).toEqual(['PRESENT', 'PRESENT', 'NULL_VALUE', 'OUTSIDE_MAX_AGE', 'PRESENT', 'NULL_VALUE', 'OUTSIDE_MAX_AGE']);
  });

  it('answers several entities in request order, NOT_FOUND for unknown ones', async () => {
    const r = await store.getOnlineFeatures({ features: ['stats:trips', 'info:label'], entities: { driver_id: ['3', 9, 1] } });
    expect(r.results[1]?.values).toEqual([2 ** 53 - 1, null, 3]);
    expect(r.results[1]?.statuses).toEqual(['PRESENT', 'NOT_FOUND', 'PRESENT']);
    expect(r.results[2]?.values).toEqual(['', null, 'say "hi"\n\\ ü 😀']);
    expect(r.results[2]?.event_timestamps[1]).toBe('1970-01-01T00:00:00Z');
  });

  it('builds the JSON answer byte for byte as JSON.stringify does', async () => {
    const cases = [
      { service: 'everything', entities: { driver_id: [1], rider_id: [7] } },
      { service: 'everything', entities: { driver_id: [1, 2, 3, 4], rider_id: [7, 7, 8, 1] }, fullFeatureNames: true },
      { features: ['info:label', 'stats:score', 'pair_stats:fare'], entities: { driver_id: ['1', '3'], rider_id: ['7', 8] } },
    ];
    for (const req of cases) {
      const json = await store.getOnlineFeaturesJson(req);
      expect(json).toBe(JSON.stringify(await store.getOnlineFeatures(req)));
    }
  });
});

describe('sqlite online store layout', () => {
  it('moves the rows of a first-layout database over on open, newer rows winning', async () => {
    const path = join(dir, 'v1.db');
    const v1 = new Database(path);
    v1.exec(`CREATE TABLE online_features (view TEXT NOT NULL, key TEXT NOT NULL, event_ts INTEGER NOT NULL, created_ts INTEGER NOT NULL, vals TEXT NOT NULL,
      PRIMARY KEY (view, key)) WITHOUT ROWID`);
    const ins = v1.prepare('INSERT INTO online_features VALUES (?, ?, ?, ?, ?)');
    ins.run('a', '1', 1000, 0, '[1]');
    ins.run('b', '1', 2000, 0, '["x"]');
    ins.run('a', '2', 3000, 5, '[2]');
    // a row a newer Berth already wrote in the current layout, newer than its first-layout copy
    v1.exec(`CREATE TABLE online_records (key TEXT NOT NULL, view TEXT NOT NULL, event_ts INTEGER NOT NULL, created_ts INTEGER NOT NULL, vals TEXT NOT NULL,
      PRIMARY KEY (key, view)) WITHOUT ROWID`);
    v1.prepare('INSERT INTO online_records VALUES (?, ?, ?, ?, ?)').run('2', 'a', 4000, 0, '[22]');
    v1.close();

    const s = new SqliteOnlineStore(path);
    const got = await s.read([
      { view: 'a', key: '1' },
      { view: 'b', key: '1' },
      { view: 'a', key: '2' },
    ]);
    expect(got).toEqual([
      { eventTs: 1000, createdTs: 0, values: '[1]' },
      { eventTs: 2000, createdTs: 0, values: '["x"]' },
      { eventTs: 4000, createdTs: 0, values: '[22]' },
    ]);
    await s.close();
    const check = new Database(path, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    check.close();
    expect(tables).toEqual(['online_records']);
    // a second open finds nothing left to move
    const again = new SqliteOnlineStore(path);
    expect((await again.read([{ view: 'b', key: '1' }]))[0]?.values).toBe('["x"]');
    await again.close();
  });

  it('returns only the views asked for when an entity has more', async () => {
    const s = new SqliteOnlineStore(':memory:');
    await s.write(['a', 'b', 'c', 'd'].map((view, i) => ({ view, key: 'k', eventTs: i, createdTs: 0, values: `[${i}]` })));
    expect((await s.read([{ view: 'c', key: 'k' }, { view: 'a', key: 'k' }, { view: 'z', key: 'k' }])).map((r) => r?.values)).toEqual(['[2]', '[0]', undefined]);
    await s.close();
  });
});
