import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openCore } from '../../src/core.js';
import { buildWeatherDemo, loadSeattleWeather, splitByYear } from '../../src/demo/index.js';
import { extractPredictions, layoutOf } from '../../src/monitor/logging/layout.js';
import { keptTensors, type LoggedCall } from '../../src/monitor/logging/page.js';
import { LogBatch, type LoggedRow, PredictionStore } from '../../src/monitor/logging/store.js';
import type { Tensor } from '../../src/protocol/index.js';
import type { ModelVersion } from '../../src/registry/index.js';
import { type ServerOptions, startServer } from '../../src/server.js';
import { http, runBerth, startTestServer, tempHome } from '../helpers.js';

const body = (rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] });
const RAINY = [10.9, 10.6, 2.8, 4.5];

async function registerWeather(core: Awaited<ReturnType<typeof openCore>>): Promise<void> {
  const demo = await buildWeatherDemo(join(core.config.home, 'demo'));
  await core.registry.register('weather', { path: demo.modelPath }, { reference: { path: demo.referencePath, labelColumn: 'weather' } });
}

describe('prediction logging', () => {
  it('drops and counts calls when the queue is full, without failing them', async () => {
    // a two-row queue that is never drained on its own: the third call on is dropped
    const t = await startTestServer(registerWeather, { monitoring: { queueRows: 2, flushMs: 3_600_000 } });
    try {
      for (let i = 0; i < 5; i++) expect((await http('POST', `${t.url}/v2/models/weather/infer`, body([RAINY]))).status).toBe(200);
      const m = await http('GET', `${t.url}/metrics`);
      expect(m.text).toContain('berth_prediction_log_dropped_total{model="weather"} 3');
      const drift = await http('GET', `${t.url}/api/v1/monitoring/weather/drift`);
      expect(drift.json.rows).toBe(2);
      const after = await http('GET', `${t.url}/metrics`);
      expect(after.text).toContain('berth_prediction_log_rows_total{model="weather"} 2');
    } finally {
      await t.close();
    }
  });

  it('counts the rows a crashed log writer took with it as dropped, and keeps serving and logging', async () => {
    const t = await startTestServer(registerWeather, { monitoring: { flushMs: 3_600_000 } });
    try {
      const m = t.server.monitoring;
      const store = m?.store;
      if (m === undefined || store === undefined) throw new Error('the server has no prediction log');
      const infer = async (id: string, rows: number[][]) =>
        expect((await http('POST', `${t.url}/v2/models/weather/infer`, body(rows), { 'x-request-id': id })).status).toBe(200);
      await infer('before', [RAINY, RAINY, RAINY]);
      await m.flush();
      // the call is only queued (no timer drain for an hour, fewer rows than a drain slice); the writer
      // is told to crash and the flush posts the call's page in the same turn of the event loop, before
      // the main thread can learn of the exit: the page goes to the dying writer, is lost, and counted
      await infer('lost', [RAINY, RAINY]);
      store.crashWriter();
      await m.flush();
      expect((await http('GET', `${t.url}/metrics`)).text).toContain('berth_prediction_log_dropped_total{model="weather"} 2');
      // the next drain starts a new writer
      await infer('after', [RAINY]);
      await m.flush();
      const ids: (string | null)[] = [];
      store.scanCalls('weather', 0, Date.now() + 1, (c) => {
        ids.push(c.requestId);
        return true;
      });
      expect(ids).toEqual(['before', 'after']);
      const fb = await http('POST', `${t.url}/api/v1/feedback`, [{ request_id: 'after', label: 'rain' }]);
      expect(fb.json).toMatchObject({ accepted: 1, unknown: [] });
    } finally {
      await t.close();
    }
  });

  it('logs every row of a batch request with its inputs by name, and keeps the log across a restart', async () => {
    const { home, cleanup } = await tempHome();
    const opts: ServerOptions = { port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false, preload: false };
    try {
      const core = await openCore({ home });
      await registerWeather(core);
      const live = splitByYear(await loadSeattleWeather()).live.slice(0, 40);
      const server = await startServer(core, opts);
      const r = await http('POST', `${server.url}/v2/models/weather/infer`, body(live.map((x) => [...x.features])), { 'x-request-id': 'batch-1' });
      expect(r.status).toBe(200);
      const failed = await http('POST', `${server.url}/v2/models/weather/infer`, { inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
      expect(failed.status).toBe(400);
      const predicted: string[] = r.json.outputs.find((o: { name: string }) => o.name === 'label').data;
      await server.close();
      await core.close();

      const files = readdirSync(join(home, 'predictions')).filter((f) => f.endsWith('.sqlite'));
      expect(files).toHaveLength(1);
      const store = new PredictionStore(join(home, 'predictions'));
      const rows: { row: number; inputs: string | null; prediction: string | null; status: number }[] = [];
      store.scan('weather', 0, Date.now() + 1, (x) => {
        rows.push(x);
      });
      await store.close();
      expect(rows.filter((x) => x.status === 200)).toHaveLength(40);
      expect(rows.filter((x) => x.status === 400)).toHaveLength(1);
      const first = rows.find((x) => x.status === 200 && x.row === 0);
      expect(JSON.parse(first?.inputs ?? '{}')).toEqual({
        precipitation: Math.fround(live[0]?.features[0] as number),
        temp_max: Math.fround(live[0]?.features[1] as number),
        temp_min: Math.fround(live[0]?.features[2] as number),
        wind: Math.fround(live[0]?.features[3] as number),
      });
      expect(JSON.parse(first?.prediction ?? 'null')).toBe(predicted[0]);

      // a new server over the same home reads its window back from the log and finds the request there
      const core2 = await openCore({ home });
      const server2 = await startServer(core2, opts);
      const replayed = await http('GET', `${server2.url}/api/v1/monitoring/weather/drift?version=1`);
      expect(replayed.json).toMatchObject({ rows: 40, current_rows: 40 });
      expect((await http('GET', `${server2.url}/api/v1/monitoring/weather/performance?version=1`)).json).toMatchObject({ requests: 2, errors: 1 });
      const labels = live.map((x) => x.label);
      const fb = await http('POST', `${server2.url}/api/v1/feedback`, [{ request_id: 'batch-1', label: labels }]);
      expect(fb.json).toMatchObject({ accepted: 1, labeled_rows: 40, unknown: [] });
      await server2.close();
      await core2.close();

      const right = labels.filter((l, i) => l === predicted[i]).length;
      const html = join(home, 'report.html');
      const rep = await runBerth(home, ['monitor', 'report', 'weather', '--window', '1h', '--html', html, '--json']);
      expect(rep.code, rep.stderr).toBe(0);
      const out = JSON.parse(rep.stdout);
      expect(out.drift).toMatchObject({ model: 'weather', version: 1, window: '1h', rows: 40 });
      expect(out.drift.columns.map((c: { column: string }) => c.column)).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind', 'prediction']);
      expect(out.performance).toMatchObject({ requests: 2, errors: 1, labeled: 40 });
      expect(out.performance.accuracy).toBeCloseTo(right / 40, 12);
      expect(existsSync(html)).toBe(true);
      const page = await readFile(html, 'utf8');
      expect(page).toContain('Accuracy over time');
      expect(page).toContain('Latency over time');
      expect(page).toContain('data-column="prediction"');
      expect(page).not.toMatch(/<script|(src|href)="https?:/);
    } finally {
      await cleanup();
    }
  });
});

describe('column names of logged rows', () => {
  const version = (tags: Record<string, string>, reference: { columns: string[]; labelColumn: string | null } | null) =>
    ({
      model: 'm',
      version: 1,
      tags,
      reference,
      signature: {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 3] }],
        outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 2] }],
      },
    }) as unknown as ModelVersion;

  it('come from the feature_names tag first, then the reference columns minus the label, then the input', () => {
    expect(layoutOf(version({ feature_names: 'a, b,c' }, { columns: ['x', 'y', 'z', 'label'], labelColumn: 'label' })).features).toEqual(['a', 'b', 'c']);
    expect(layoutOf(version({}, { columns: ['x', 'y', 'label', 'z'], labelColumn: 'label' })).features).toEqual(['x', 'y', 'z']);
    expect(layoutOf(version({}, null)).features).toEqual(['features[0]', 'features[1]', 'features[2]']);
    expect(layoutOf(version({}, null)).prediction).toEqual({ output: 'scores', how: 'argmax' });
  });
});

describe('prediction log pages', () => {
  const mv = {
    model: 'shop',
    version: 2,
    tags: {},
    reference: null,
    signature: {
      inputs: [
        { name: 'city', datatype: 'BYTES', shape: [-1] },
        { name: 'count', datatype: 'INT64', shape: [-1, 1] },
      ],
      // the embedding output is served but not in the signature, so the score is the prediction
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1] }],
    },
  } as unknown as ModelVersion;
  const layout = layoutOf(mv);
  const DAY = 86_400_000;
  const t0 = Date.UTC(2026, 10, 25, 23, 59, 59, 0);

  function call(batch: LogBatch, id: string | null, time: number, cities: string[], status = 200, route: [string, string] | null = null): void {
    const ev = { time, model: 'shop', seconds: 0.25 + cities.length, status };
    if (status !== 200) {
      batch.add(ev, 2, id, route?.[0] ?? null, route?.[1] ?? null, layout, [], 0, undefined);
      return;
    }
    const n = cities.length;
    const inputs: Tensor[] = [
      { name: 'city', datatype: 'BYTES', shape: [n], data: cities },
      { name: 'count', datatype: 'INT64', shape: [n, 1], data: BigInt64Array.from(cities.map((c) => BigInt(c.length))) },
    ];
    const outputs: Tensor[] = [
      { name: 'score', datatype: 'FP32', shape: [n], data: Float32Array.from(cities.map((c) => c.length / 10)) },
      { name: 'embedding', datatype: 'FP32', shape: [n, 300], data: new Float32Array(n * 300) },
    ];
    const kept: Tensor[] = [];
    const k = keptTensors(layout, inputs, outputs, kept);
    batch.add(ev, 2, id, route?.[0] ?? null, route?.[1] ?? null, layout, kept, k, extractPredictions(layout, outputs, n));
  }

  it('reads back every row, route and failure as it was served, across day files and pages', async () => {
    const { home, cleanup } = await tempHome();
    const store = new PredictionStore(join(home, 'predictions'));
    try {
      const batch = new LogBatch();
      call(batch, 'a', t0, ['Zürich', 'Oslo']);
      call(batch, 'b', t0 + 500, ['Paris'], 200, ['exp-1', 'treatment']);
      call(batch, 'c', t0 + 600, [], 503);
      call(batch, null, t0 + 2000, ['Lima', 'Kyiv', '東京']); // the next UTC day: a second file
      expect(store.append(batch)).toBe(true);
      await store.flush();
      expect(store.files()).toEqual(['2026-11-26.sqlite', '2026-11-25.sqlite']);

      const rows: LoggedRow[] = [];
      store.scan('shop', t0 - DAY, t0 + DAY, (r) => {
        rows.push(r);
      });
      expect(rows.map((r) => [r.requestId, r.row, r.status, r.experiment, r.variant])).toEqual([
        ['a', 0, 200, null, null],
        ['a', 1, 200, null, null],
        ['b', 0, 200, 'exp-1', 'treatment'],
        ['c', 0, 503, null, null],
        [null, 0, 200, null, null],
        [null, 1, 200, null, null],
        [null, 2, 200, null, null],
      ]);
      expect(rows[1]).toMatchObject({ time: t0, seconds: 2.25, inputs: '{"city":"Oslo","count":4}', prediction: String(Math.fround(0.4)) });
      // outputs wider than 256 values a row (the embedding) are left out, as before
      expect(JSON.parse(rows[2]?.outputs ?? '{}')).toEqual({ score: Math.fround(0.5) });
      expect(rows[3]).toMatchObject({ inputs: null, prediction: null, outputs: null });
      expect(JSON.parse(rows[6]?.inputs ?? '{}')).toEqual({ city: '東京', count: 2 });

      const calls: LoggedCall[] = [];
      store.scanCalls('shop', t0 + 1000, t0 + DAY, (c) => {
        calls.push(c);
        return true;
      });
      expect(calls).toHaveLength(1);
      expect(calls[0]?.inputs.map((t) => t.data)).toEqual([['Lima', 'Kyiv', '東京'], BigInt64Array.from([4n, 4n, 2n])]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('deletes day files once their day ended longer ago than the retention, and keeps logging', async () => {
    const { home, cleanup } = await tempHome();
    const dir = join(home, 'predictions');
    const store = new PredictionStore(dir);
    const days = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `2026-11-${25 - from - i}.sqlite`);
    try {
      // six day files in one batch: more than the writer (2) and the readers (4) keep open at once
      const batch = new LogBatch();
      for (let d = 0; d < 6; d++) call(batch, `day-${d}`, t0 - d * DAY, ['Oslo']);
      expect(store.append(batch)).toBe(true);
      await store.flush();
      expect(store.files()).toEqual(days(0, 6));
      const ids = Array.from({ length: 6 }, (_, d) => `day-${d}`);
      expect([...store.findRequests(ids).keys()].sort()).toEqual(ids);
      // now = 2026-11-26 12:00: with a 2-day retention, days that ended before 11-24 12:00 go (11-23 and older)
      const now = t0 + 1000 + DAY / 2;
      expect(store.prune(2 * DAY, now)).toEqual(days(2, 6));
      await store.flush();
      expect(readdirSync(dir).filter((f) => !days(0, 2).some((k) => f.startsWith(k)))).toEqual([]);
      expect(store.files()).toEqual(days(0, 2));
      expect([...store.findRequests(ids).keys()].sort()).toEqual(['day-0', 'day-1']);
      const next = new LogBatch();
      call(next, 'later', t0 + 2000, ['Lima']);
      expect(store.append(next)).toBe(true);
      await store.flush();
      expect(store.findRequests(['later']).size).toBe(1);
      expect(store.prune(0, now)).toEqual(days(0, 2));
    } finally {
      await store.close();
      await cleanup();
    }
  });

  const idsIn = (store: PredictionStore): (string | null)[] => {
    const ids: (string | null)[] = [];
    store.scanCalls('shop', t0 - DAY, t0 + DAY, (c) => {
      ids.push(c.requestId);
      return true;
    });
    return ids;
  };

  it('keeps at most the bound in flight to the writer thread, dropping and counting the rest', async () => {
    const { home, cleanup } = await tempHome();
    const dropped: [string, number][] = [];
    const store = new PredictionStore(join(home, 'predictions'), { maxPendingBytes: 1, onDropped: (model, rows) => dropped.push([model, rows]) });
    try {
      const a = new LogBatch();
      call(a, 'a', t0 - 5000, ['Rome', 'Oslo']);
      // nothing in flight: a write larger than the bound still goes
      expect(store.append(a)).toBe(true);
      const b = new LogBatch();
      call(b, 'b', t0 - 4000, ['Bern']);
      call(b, 'b-failed', t0 - 3000, [], 500);
      // a is not committed yet: b is dropped, its two calls counted as the queue counts them (a failed call is one row)
      expect(store.append(b)).toBe(false);
      expect(dropped).toEqual([['shop', 2]]);
      await store.flush();
      const c = new LogBatch();
      call(c, 'c', t0 - 2000, ['Lima']);
      expect(store.append(c)).toBe(true);
      await store.flush();
      expect(idsIn(store)).toEqual(['a', 'c']);
      expect(dropped).toEqual([['shop', 2]]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('survives its writer thread crashing: the pages it had are counted as dropped, a new writer takes the next ones', async () => {
    const { home, cleanup } = await tempHome();
    const dropped: [string, number][] = [];
    const logged: string[] = [];
    const logger = pino({}, { write: (line: string) => void logged.push(line) });
    const store = new PredictionStore(join(home, 'predictions'), { onDropped: (model, rows) => dropped.push([model, rows]), logger });
    try {
      const a = new LogBatch();
      call(a, 'a', t0 - 5000, ['Rome']);
      store.append(a);
      await store.flush();
      store.crashWriter();
      const b = new LogBatch();
      call(b, 'b', t0 - 4000, ['Bern', 'Oslo', 'Kyiv']);
      expect(store.append(b)).toBe(true); // posted, then lost with the writer
      await store.flush();
      expect(dropped).toEqual([['shop', 3]]);
      expect(logged.some((m) => /writer exited/.test(m))).toBe(true);
      const c = new LogBatch();
      call(c, 'c', t0 - 3000, ['Lima']);
      expect(store.append(c)).toBe(true);
      store.appendFeedback([{ time: t0, requestId: 'c', row: 0, model: 'shop', version: 2, prediction: '0.4', label: '0.5', predictedAt: t0 - 3000 }]);
      await store.flush();
      expect(idsIn(store)).toEqual(['a', 'c']);
      expect(store.feedback('shop', t0 - DAY, t0 + DAY).map((f) => f.requestId)).toEqual(['c']);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('finds the newest successful call of a request id, telling colliding hashes apart', async () => {
    const { home, cleanup } = await tempHome();
    const store = new PredictionStore(join(home, 'predictions'));
    try {
      // id-149599 and id-312382 have the same 32-bit FNV-1a hash
      const first = new LogBatch();
      call(first, 'id-149599', t0 + 5000, ['Rome']);
      call(first, 'dup', t0 + 5001, ['Bern']);
      store.append(first);
      const second = new LogBatch();
      call(second, 'id-312382', t0 + 6000, ['Cairo', 'Accra']);
      call(second, 'dup', t0 + 6001, ['Quito', 'Dakar', 'Hanoi']);
      call(second, 'dup', t0 + 6002, [], 500);
      store.append(second);
      await store.flush();
      const found = store.findRequests(['id-149599', 'id-312382', 'dup', 'nope']);
      expect(found.get('id-149599')).toEqual({ model: 'shop', version: 2, time: t0 + 5000, predictions: [Math.fround(0.4)] });
      expect(found.get('id-312382')?.predictions).toEqual([Math.fround(0.5), Math.fround(0.5)]);
      expect(found.get('dup')?.predictions).toHaveLength(3);
      expect(found.has('nope')).toBe(false);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});
