import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { type FeatureStore, featuresPlugin, openFeatureStore } from '../../src/features/index.js';
import { http, tempHome } from '../helpers.js';
import { writeRepo } from './fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: FeatureStore;
let app: FastifyInstance;
let url: string;
const ms = (t: string) => Date.parse(`${t}Z`);

beforeAll(async () => {
  ({ home: dir, cleanup } = await tempHome());
  store = openFeatureStore({ home: join(dir, 'home') });
  await store.apply(writeRepo(dir));
  // the same mapping of BerthError as src/server.ts; the real server registers featuresPlugin beside its own
  app = Fastify();
  app.setErrorHandler((err: Error, _req, reply) =>
    err instanceof BerthError ? reply.code(err.status).send({ error: err.message }) : reply.code(500).send({ error: 'internal error' }),
  );
  await app.register(featuresPlugin, { store });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await store.close();
  await cleanup();
});

describe('materialization', () => {
  it('copies the latest row per entity in the window, ties to the newest created', async () => {
    const reports = await store.materialize(ms('2026-01-01T00:00:00'), ms('2026-01-01T11:00:00'));
    expect(reports.map((r) => [r.view, r.rows])).toEqual([
      ['driver_hourly', 3],
      ['driver_profile', 0], // its rows are from 2025, before the window
    ]);
    const recs = await store.online.read(['1001', '1002', '1003', '1004'].map((key) => ({ view: 'driver_hourly', key })));
    expect(recs.map((r) => r && [new Date(r.eventTs).toISOString(), JSON.parse(r.values)])).toEqual([
      ['2026-01-01T11:00:00.000Z', [0.25, 3]],
      ['2026-01-01T09:00:00.000Z', [0.5, 5]],
      undefined,
      ['2026-01-01T11:00:00.000Z', [0.8, 8]],
    ]);
  });

  it('continues from the last end with materialize-incremental', async () => {
    const reports = await store.materializeIncremental(ms('2026-01-01T13:00:00'), { views: ['driver_hourly'] });
    expect(reports[0]).toMatchObject({ view: 'driver_hourly', start: '2026-01-01T11:00:00.000Z', rows: 3 });
    const [rec] = await store.online.read([{ view: 'driver_hourly', key: '1002' }]);
    expect(rec && JSON.parse(rec.values)).toEqual([null, 6]);
  });

  it('streams in chunks and reports progress per view', async () => {
    const seen: [string, number, number, boolean][] = [];
    await store.materialize(0, ms('2026-01-02T00:00:00'), { progress: (v, w, t, d) => seen.push([v, w, t, d]) });
    expect(seen.filter((s) => s[3]).map((s) => [s[0], s[1]])).toEqual([
      ['driver_hourly', 3],
      ['driver_profile', 2],
    ]);
  });
});

describe('getOnlineFeatures', () => {
  it('reports rows past the TTL as OUTSIDE_MAX_AGE, unknown entities as NOT_FOUND, keys first', async () => {
    const r = await store.getOnlineFeatures({
      features: ['driver_hourly:trips', 'driver_profile:rating'],
      entities: { driver_id: [1001, 1003] },
    });
    expect(r.metadata.feature_names).toEqual(['driver_id', 'trips', 'rating']);
    expect(r.results[0]).toEqual({ values: [1001, 1003], statuses: ['PRESENT', 'PRESENT'], event_timestamps: ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'] });
    // the data is from January and the TTL is 2h: not served
    expect(r.results[1]).toEqual({ values: [null, null], statuses: ['OUTSIDE_MAX_AGE', 'NOT_FOUND'], event_timestamps: ['2026-01-01T11:00:00.000Z', '1970-01-01T00:00:00Z'] });
    // ttl 0: no limit
    expect(r.results[2]?.values).toEqual([4.5, null]);
    expect(r.results[2]?.statuses).toEqual(['PRESENT', 'NOT_FOUND']);
  });

  it('serves pushed rows: PRESENT and NULL_VALUE, by service with full names', async () => {
    const now = new Date().toISOString();
    const written = await store.push({
      push_source_name: 'driver_stats',
      df: { driver_id: [1001, 1005], event_timestamp: [now, now], created: [now, now], conv_rate: [0.3, null], trips: [4, 9] },
    });
    expect(written).toEqual({ online: 2, offline: 0 });
    const r = await store.getOnlineFeatures({ service: 'driver_model_v1', entities: { driver_id: [1005, 1001] }, fullFeatureNames: true });
    expect(r.metadata.feature_names).toEqual(['driver_id', 'driver_hourly__conv_rate', 'driver_hourly__trips']);
    expect(r.results[1]).toMatchObject({ values: [null, 0.3], statuses: ['NULL_VALUE', 'PRESENT'] });
    expect(r.results[2]).toMatchObject({ values: [9, 4], statuses: ['PRESENT', 'PRESENT'] });
    expect(r.results[2]?.event_timestamps[0]).toBe(now);
  });
});

describe('HTTP (Feast shape)', () => {
  it('POST /get-online-features answers like Feast', async () => {
    const r = await http('POST', `${url}/get-online-features`, {
      feature_service: 'driver_model_v1',
      entities: { driver_id: [1001] },
      full_feature_names: false,
    });
    expect(r.status).toBe(200);
    expect(r.json.metadata.feature_names).toEqual(['driver_id', 'conv_rate', 'trips']);
    expect(r.json.results.map((x: { values: unknown[] }) => x.values[0])).toEqual([1001, 0.3, 4]);
  });

  it('POST /push writes rows that the next read sees', async () => {
    const now = new Date().toISOString();
    const p = await http('POST', `${url}/push`, { push_source_name: 'driver_stats', df: { driver_id: ['1006'], event_timestamp: [now], conv_rate: [0.125], trips: [1] } });
    expect(p.status, p.text).toBe(200);
    expect(p.json).toEqual({ online: 1, offline: 0 });
    const r = await http('POST', `${url}/get-online-features`, { features: ['driver_hourly:conv_rate'], entities: { driver_id: [1006] } });
    expect(r.json.results[1]).toMatchObject({ values: [0.125], statuses: ['PRESENT'] });
  });

  it('answers bad requests with 400 naming the problem', async () => {
    const cases: [unknown, RegExp][] = [
      [{ features: ['driver_hourly:nope'], entities: { driver_id: [1] } }, /has no feature 'nope'/],
      [{ features: ['driver_hourly:trips'], entities: { rider_id: [1] } }, /missing join key 'driver_id'/],
      [{ features: ['driver_hourly:trips'], entities: { driver_id: [{ id: 1 }] } }, /entities\.driver_id\[0\] must be a string or a number/],
      [{ feature_service: 'nope', entities: { driver_id: [1] } }, /unknown feature service 'nope'/],
      [{ entities: { driver_id: [1] } }, /give features/],
      [[1, 2], /must be a JSON object/],
    ];
    for (const [body, re] of cases) {
      const r = await http('POST', `${url}/get-online-features`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(re);
    }
    const push = await http('POST', `${url}/push`, { push_source_name: 'driver_stats', df: { driver_id: [1], event_timestamp: ['2026-01-01T00:00:00Z'], conv_rate: ['high'], trips: [1] } });
    expect(push.status).toBe(400);
    expect(push.json.error).toMatch(/df\.conv_rate\[0\] must be float32/);
    const to = await http('POST', `${url}/push`, { push_source_name: 'driver_stats', df: {}, to: 'disk' });
    expect(to.status).toBe(400);
    expect(to.json.error).toMatch(/to must be online, offline or online_and_offline/);
  });
});

describe('push to the offline side', () => {
  it('logs rows that historical retrieval then joins like source rows', async () => {
    const r = await store.push({
      push_source_name: 'driver_stats',
      to: 'offline',
      df: { driver_id: [1003], event_timestamp: ['2026-01-01T11:45:00Z'], created: ['2026-01-01T11:45:00Z'], conv_rate: [0.75], trips: [11] },
    });
    expect(r).toEqual({ online: 0, offline: 1 });
    // not online
    const online = await store.getOnlineFeatures({ features: ['driver_hourly:trips'], entities: { driver_id: [1003] } });
    expect(online.results[1]?.statuses).toEqual(['NOT_FOUND']);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'e3.csv'), 'driver_id,event_timestamp\n1003,2026-01-01 12:00:00\n1003,2026-01-01 11:00:00\n1001,2026-01-01 11:00:00\n');
    const h = await store.historical({ entities: join(dir, 'e3.csv'), features: ['driver_hourly:trips'] });
    expect(h.data?.map((x) => (x.trips === null ? null : Number(x.trips)))).toEqual([11, null, 3]);
  });
});
