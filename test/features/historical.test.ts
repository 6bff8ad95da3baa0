import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeatureStore, openFeatureStore } from '../../src/features/index.js';
import { tempHome } from '../helpers.js';
import { writeRepo } from './fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: FeatureStore;

// Entity rows in a deliberately unsorted order; expectations are worked out by hand from fixture.ts.
const ENTITIES = `driver_id,event_timestamp,label
1001,2026-01-01 10:30:00,a
1002,2026-01-01 11:00:00,b
1002,2026-01-01 11:00:01,c
1001,2026-01-01 09:59:59,d
1001,2026-01-01 11:00:00,e
1003,2026-01-01 12:00:00,f
1002,2026-01-01 12:00:00,g
1004,2026-01-01 11:30:00,h
`;

beforeAll(async () => {
  ({ home: dir, cleanup } = await tempHome());
  const file = writeRepo(dir);
  writeFileSync(join(dir, 'entities.csv'), ENTITIES);
  store = openFeatureStore({ home: join(dir, 'home') });
  await store.apply(file);
});
afterAll(async () => {
  await store.close();
  await cleanup();
});

const round = (v: unknown) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v === undefined ? 'missing' : v);

describe('historical retrieval (point in time)', () => {
  it('takes the latest row at or before each entity time, within the TTL inclusive, newest created on ties', async () => {
    const r = await store.historical({ entities: join(dir, 'entities.csv'), features: ['driver_hourly:conv_rate', 'driver_hourly:trips'] });
    expect(r.columns).toEqual(['driver_id', 'event_timestamp', 'label', 'conv_rate', 'trips']);
    const rows = (r.data ?? []).map((x) => [x.label, round(x.conv_rate), x.trips === null ? null : Number(x.trips)]);
    expect(rows).toEqual([
      ['a', 0.1, 1], // 10:00 row, 30 min old
      ['b', 0.5, 5], // 09:00 row is exactly 2h old: still inside the TTL
      ['c', null, null], // one second past the TTL
      ['d', null, null], // before the first row of 1001
      ['e', 0.25, 3], // two rows at 11:00: the one created later wins; "at" the entity time counts
      ['f', null, null], // unknown driver
      ['g', null, 6], // latest row has a null conv_rate: null, not an older value
      ['h', 0.8, 8], // tie again, the later-created row now last in the file
    ]);
  });

  it('joins several views, without TTL limit when ttl is 0, with full feature names, from a service', async () => {
    const r = await store.historical({
      entities: join(dir, 'entities.csv'),
      features: ['driver_profile:rating', 'driver_hourly:trips'],
      fullFeatureNames: true,
    });
    expect(r.columns.slice(3)).toEqual(['driver_profile__rating', 'driver_hourly__trips']);
    expect((r.data ?? []).map((x) => x.driver_profile__rating)).toEqual([4.5, 3.9, 3.9, 4.5, 4.5, null, 3.9, null]);
    const svc = await store.historical({ entities: join(dir, 'entities.csv'), service: 'driver_model_v1' });
    expect(svc.columns.slice(3)).toEqual(['conv_rate', 'trips']);
  });

  it('writes CSV and Parquet training sets keeping the entity order', async () => {
    const csv = join(dir, 'out.csv');
    const r = await store.historical({ entities: join(dir, 'entities.csv'), service: 'driver_model_v1', output: csv });
    expect(r.rows).toBe(8);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('driver_id,event_timestamp,label,conv_rate,trips');
    expect(lines.slice(1).map((l) => l.split(',')[2])).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(lines[5]).toMatch(/^1001,2026-01-01 11:00:00,e,0\.25,3$/);
    const pq = join(dir, 'out.parquet');
    expect((await store.historical({ entities: join(dir, 'entities.csv'), service: 'driver_model_v1', output: pq })).rows).toBe(8);
    const back = await store.historical({ entities: pq, features: ['driver_profile:rating'] });
    expect(back.columns).toEqual(['driver_id', 'event_timestamp', 'label', 'conv_rate', 'trips', 'rating']);
    expect(back.data?.map((x) => x.label)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('reports bad requests naming the problem', async () => {
    const ents = join(dir, 'entities.csv');
    await expect(store.historical({ entities: ents, features: ['driver_hourly:nope'] })).rejects.toThrow(/has no feature 'nope'/);
    await expect(store.historical({ entities: ents, features: ['nope:x'] })).rejects.toThrow(/unknown feature view 'nope'/);
    await expect(store.historical({ entities: ents, service: 'nope' })).rejects.toThrow(/unknown feature service 'nope'/);
    await expect(store.historical({ entities: ents, features: ['driver_hourly:conv_rate', 'driver_profile:rating', 'driver_hourly:conv_rate'] })).rejects.toThrow(
      /appears twice/,
    );
    writeFileSync(join(dir, 'bad.csv'), 'driver,event_timestamp\n1,2026-01-01 00:00:00\n');
    await expect(store.historical({ entities: join(dir, 'bad.csv'), service: 'driver_model_v1' })).rejects.toThrow(/has no column 'driver_id'/);
    await expect(store.historical({ entities: join(dir, 'missing.csv'), service: 'driver_model_v1' })).rejects.toThrow(/cannot be read/);
  });
});
