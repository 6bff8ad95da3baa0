import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeatherDemo, loadSeattleWeather, splitByYear, type WeatherRow } from '../../src/demo/index.js';
import { http, runBerth, startTestServer, type TestServer } from '../helpers.js';

let reference: WeatherRow[];

async function registerWeather(core: TestServer['core']): Promise<void> {
  const demo = await buildWeatherDemo(join(core.config.home, 'demo'));
  await core.registry.register('weather', { path: demo.modelPath }, { alias: 'champion', reference: { path: demo.referencePath, labelColumn: 'weather' } });
}

/** Sends rows in requests of `batch` rows each; returns the request ids and predicted labels. */
async function infer(url: string, rows: number[][], batch = 64, prefix = 'r'): Promise<{ ids: string[]; labels: string[][] }> {
  const ids: string[] = [];
  const labels: string[][] = [];
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const id = `${prefix}-${i}`;
    const r = await http(
      'POST',
      `${url}/v2/models/weather/infer`,
      { inputs: [{ name: 'features', shape: [chunk.length, 4], datatype: 'FP32', data: chunk.flat() }] },
      { 'x-request-id': id },
    );
    expect(r.status, r.text).toBe(200);
    ids.push(id);
    labels.push(r.json.outputs.find((o: { name: string }) => o.name === 'label').data);
  }
  return { ids, labels };
}

function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  reference = splitByYear(await loadSeattleWeather()).train;
});

describe('live drift through the server', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(registerWeather, { monitoring: { windowMs: 3_600_000 } });
  });
  afterAll(async () => t.close());

  it('reports no drift for traffic drawn from the reference, and drift once the traffic shifts', async () => {
    await infer(t.url, reference.map((r) => [...r.features]));
    const calm = await http('GET', `${t.url}/api/v1/monitoring/weather/drift`);
    expect(calm.status, calm.text).toBe(200);
    expect(calm.json).toMatchObject({ model: 'weather', version: 1, window: '1h', rows: reference.length, dataset_drift: false });
    const names = calm.json.columns.map((c: { column: string }) => c.column);
    expect(names).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind', 'prediction']);
    expect(calm.json.columns.every((c: { drift: boolean }) => !c.drift)).toBe(true);
    const quiet = await http('GET', `${t.url}/metrics`);
    expect(metric(quiet.text, 'berth_drift_detected', { model: 'weather', version: '1' })).toBe(0);
    expect(metric(quiet.text, 'berth_drift_score', { model: 'weather', version: '1', column: 'temp_max', method: 'wasserstein' })).toBeLessThan(0.1);

    // a warmer, wetter world: three of four inputs move, and with them the predictions
    const shifted = reference.map((r) => [r.features[0] * 3 + 2, r.features[1] + 12, r.features[2] + 12, r.features[3]]);
    await infer(t.url, shifted, 64, 's');
    await infer(t.url, shifted, 64, 's2');
    const drifted = await http('GET', `${t.url}/api/v1/monitoring/weather/drift`);
    expect(drifted.json.dataset_drift).toBe(true);
    const byName = Object.fromEntries(drifted.json.columns.map((c: { column: string }) => [c.column, c]));
    expect(byName.temp_max).toMatchObject({ kind: 'numerical', method: 'wasserstein', drift: true });
    expect(byName.wind.drift).toBe(false);
    expect(byName.prediction).toMatchObject({ kind: 'categorical', method: 'jensenshannon', drift: true });
    expect(drifted.json.prediction_drift).toBe(true);
    const scraped = await http('GET', `${t.url}/metrics`);
    await new Promise((r) => setTimeout(r, 2100)); // the gauges recompute at most every 2 s
    const again = await http('GET', `${t.url}/metrics`);
    expect(metric(again.text, 'berth_drift_detected', { model: 'weather', version: '1' })).toBe(1);
    expect(metric(again.text, 'berth_drift_score', { model: 'weather', version: '1', column: 'temp_max', method: 'wasserstein' })).toBeGreaterThan(0.1);
    expect(scraped.status).toBe(200);
  });

  it('berth monitor report --server renders the live report from the API', async () => {
    const html = join(t.home, 'live.html');
    const r = await runBerth(t.home, ['--server', t.url, 'monitor', 'report', 'weather', '--window', '30m', '--html', html, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.drift).toMatchObject({ model: 'weather', version: 1, window: '30m', dataset_drift: true });
    expect(out.drift.charts).toBeUndefined();
    expect(out.performance.requests).toBeGreaterThan(0);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<svg class="chart"');
    expect(page).toContain('data-column="temp_max"');
    expect(page).toContain('Latency over time');
  });
});
