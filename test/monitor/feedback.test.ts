import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeatherDemo } from '../../src/demo/index.js';
import { RecentRequests } from '../../src/monitor/live/recent.js';
import { identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

const RAINY = [10.9, 10.6, 2.8, 4.5];
const SUNNY = [0, 25, 14, 3];

let t: TestServer;

async function predict(id: string, rows: number[][]): Promise<string[]> {
  const r = await http(
    'POST',
    `${t.url}/v2/models/weather/infer`,
    { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] },
    { 'x-request-id': id },
  );
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get('x-request-id')).toBe(id);
  return r.json.outputs.find((o: { name: string }) => o.name === 'label').data;
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('model="weather"') && l.includes('version="1"'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    const demo = await buildWeatherDemo(join(core.config.home, 'demo'));
    await core.registry.register('weather', { path: demo.modelPath }, { reference: { path: demo.referencePath, labelColumn: 'weather' } });
  });
});
afterAll(async () => t.close());

describe('POST /api/v1/feedback', () => {
  it('joins delayed labels to logged predictions and scores them per window', async () => {
    expect(await predict('a', [RAINY])).toEqual(['rain']);
    expect(await predict('b', [RAINY])).toEqual(['rain']);
    expect(await predict('c', [SUNNY])).toEqual(['sun']);
    expect(await predict('d', [SUNNY])).toEqual(['sun']);
    expect(await predict('e', [RAINY, SUNNY])).toEqual(['rain', 'sun']);
    const r = await http('POST', `${t.url}/api/v1/feedback`, [
      { request_id: 'a', label: 'rain' },
      { request_id: 'b', label: 'rain' },
      { request_id: 'c', label: 'sun' },
      { request_id: 'd', label: 'fog' },
      { request_id: 'e', label: ['rain', 'sun'] },
      { request_id: 'never-seen', label: 'sun' },
      { request_id: 'a' },
      { request_id: 'e', label: 'rain' },
    ]);
    expect(r.status, r.text).toBe(200);
    expect(r.json.accepted).toBe(5);
    expect(r.json.labeled_rows).toBe(6);
    expect(r.json.unknown).toEqual(['never-seen']);
    expect(r.json.invalid.map((i: { index: number }) => i.index)).toEqual([6, 7]);

    // rain->rain x3, sun->sun x2, sun predicted for a fog day x1.
    // rain: P 1, R 1, F1 1; sun: P 2/3, R 1, F1 0.8; fog: P 0, R 0, F1 0.
    const p = await http('GET', `${t.url}/api/v1/monitoring/weather/performance`);
    expect(p.status, p.text).toBe(200);
    expect(p.json).toMatchObject({ model: 'weather', version: 1, task: 'classification', labeled: 6, requests: 5, rows: 6, errors: 0 });
    expect(p.json.accuracy).toBeCloseTo(5 / 6, 12);
    expect(p.json.precision).toBeCloseTo(5 / 9, 12);
    expect(p.json.recall).toBeCloseTo(2 / 3, 12);
    expect(p.json.f1).toBeCloseTo(0.6, 12);
    expect(p.json.mae).toBeNull();
    expect(p.json.latency_p95).toBeGreaterThan(0);
    expect(p.json.buckets.length).toBeGreaterThan(0);

    const m = await http('GET', `${t.url}/metrics`);
    expect(metric(m.text, 'berth_accuracy')).toBeCloseTo(5 / 6, 12);
    expect(metric(m.text, 'berth_f1')).toBeCloseTo(0.6, 12);
    expect(m.text).toContain('berth_prediction_log_rows_total{model="weather"} 6');
  });

  it('refuses a body that is not a list of items', async () => {
    const r = await http('POST', `${t.url}/api/v1/feedback`, { request_id: 'a', label: 'rain' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/array/);
  });

  it('answers 404 for drift of a model it does not know, and 400 for a bad window', async () => {
    expect((await http('GET', `${t.url}/api/v1/monitoring/nope/drift`)).status).toBe(404);
    const bad = await http('GET', `${t.url}/api/v1/monitoring/weather/drift?window=soon`);
    expect(bad.status).toBe(400);
    expect((await http('GET', `${t.url}/api/v1/monitoring/weather/drift?window=2h`)).status).toBe(400);
  });

  it('takes labels with a deploy token only; a read token may read the scores', async () => {
    const read = (await t.core.tokens.create('read')).secret;
    const deploy = (await t.core.tokens.create('deploy')).secret;
    // auth turns on within a second of the first token
    for (let i = 0; i < 50 && (await http('GET', `${t.url}/api/v1/monitoring/weather/performance`)).status !== 401; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const items = [{ request_id: 'x', label: 'rain' }];
    expect((await http('POST', `${t.url}/api/v1/feedback`, items, { authorization: `Bearer ${read}` })).status).toBe(403);
    expect((await http('POST', `${t.url}/api/v1/feedback`, items, { authorization: `Bearer ${deploy}` })).status).toBe(200);
    expect((await http('GET', `${t.url}/api/v1/monitoring/weather/performance`, undefined, { authorization: `Bearer ${read}` })).status).toBe(200);
  });
});

describe('delayed labels for a regression model', () => {
  it('scores MAE and RMSE of a regression model', async () => {
    const s = await startTestServer(async (core) => {
      await core.registry.register('echo', identityModel('float32', ['batch', 1]));
    });
    try {
      for (const [id, x] of [['p1', 1], ['p2', 2], ['p3', 4]] as const) {
        const r = await http('POST', `${s.url}/v2/models/echo/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [x] }] }, { 'x-request-id': id });
        expect(r.status).toBe(200);
      }
      const fb = await http('POST', `${s.url}/api/v1/feedback`, ['p1', 'p2', 'p3'].map((id) => ({ request_id: id, label: 2 })));
      expect(fb.json.accepted).toBe(3);
      // errors 1, 0, 2: MAE 1, RMSE sqrt(5/3)
      const p = await http('GET', `${s.url}/api/v1/monitoring/echo/performance`);
      expect(p.json).toMatchObject({ task: 'regression', labeled: 3, accuracy: null, f1: null });
      expect(p.json.mae).toBeCloseTo(1, 12);
      expect(p.json.rmse).toBeCloseTo(Math.sqrt(5 / 3), 12);
      const m = await http('GET', `${s.url}/metrics`);
      expect(m.text).toContain('berth_mae{model="echo",version="1"} 1');
      // no reference dataset: drift is not available, and says why
      const d = await http('GET', `${s.url}/api/v1/monitoring/echo/drift`);
      expect(d.status).toBe(404);
      expect(d.json.error).toMatch(/reference/);
    } finally {
      await s.close();
    }
  });
});

describe('recent request ids', () => {
  it('remember the newest calls only, the newest call of an id winning', () => {
    const recent = new RecentRequests(4);
    recent.add('a', 'm', 1, 10, ['x']);
    recent.add('b', 'm', 1, 11, ['y', 'z']);
    recent.add('a', 'm', 2, 12, ['w']);
    expect(recent.get('a')).toEqual({ model: 'm', version: 2, time: 12, predictions: ['w'] });
    expect(recent.get('b')?.predictions).toEqual(['y', 'z']);
    for (const id of ['c', 'd', 'e', 'f']) recent.add(id, 'm', 1, 13, [1]);
    // at least the newest half of the capacity is remembered; older ids are looked up in the store
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('b')).toBeUndefined();
    expect(['e', 'f'].map((id) => recent.get(id)?.predictions)).toEqual([[1], [1]]);
  });

  it('index calls lazily: lookups between adds, and many more adds than the ring holds between lookups', () => {
    const recent = new RecentRequests(8);
    for (let i = 0; i < 5; i++) recent.add(`r${i}`, 'm', 1, i, [i]);
    expect(recent.get('r4')?.predictions).toEqual([4]);
    // 100 calls since the last lookup: only the ring's last 8 can be found, and the newest half at least is
    for (let i = 5; i < 105; i++) recent.add(`r${i}`, 'm', 1, i, [i]);
    expect(recent.get('r4')).toBeUndefined();
    expect(recent.get('r96')).toBeUndefined();
    for (let i = 101; i < 105; i++) expect(recent.get(`r${i}`)?.predictions).toEqual([i]);
    recent.add('r101', 'm', 3, 200, ['again']);
    expect(recent.get('r101')).toEqual({ model: 'm', version: 3, time: 200, predictions: ['again'] });
  });
});
