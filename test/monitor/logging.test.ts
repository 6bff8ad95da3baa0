import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openCore } from '../../src/core.js';
import { buildWeatherDemo, loadSeattleWeather, splitByYear } from '../../src/demo/index.js';
import { layoutOf } from '../../src/monitor/logging/layout.js';
import { PredictionStore } from '../../src/monitor/logging/store.js';
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
      store.close();
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
