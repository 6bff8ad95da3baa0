import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWeatherDemo,
  CLASSES,
  FEATURE_NAMES,
  loadSeattleWeather,
  parseWeatherCsv,
  predictWeather,
  splitByYear,
  trainWeatherModel,
  type WeatherDemo,
  type WeatherRow,
  weatherModelSpec,
} from '../../src/demo/index.js';

const dirs: string[] = [];
async function build(): Promise<WeatherDemo> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-demo-'));
  dirs.push(dir);
  return buildWeatherDemo(dir);
}

/** Parses the demo's `precipitation,temp_max,temp_min,wind,weather` files. */
function parseLabeled(text: string): { header: string; features: number[][]; labels: string[] } {
  const [header = '', ...lines] = text.trimEnd().split('\n');
  const features: number[][] = [];
  const labels: string[] = [];
  for (const line of lines) {
    const cells = line.split(',');
    features.push(cells.slice(0, 4).map(Number));
    labels.push(cells[4]!);
  }
  return { header, features, labels };
}

let demo: WeatherDemo;
let rows: WeatherRow[];

beforeAll(async () => {
  demo = await build();
  rows = await loadSeattleWeather();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('Seattle weather demo model', () => {
  it('writes the 2012–2014 training rows as reference.csv and 2015 as live-2015.csv', async () => {
    const reference = parseLabeled(await readFile(demo.referencePath, 'utf8'));
    const live = parseLabeled(await readFile(demo.livePath, 'utf8'));
    expect(reference.header).toBe('precipitation,temp_max,temp_min,wind,weather');
    expect(live.header).toBe(reference.header);
    expect(reference.features).toHaveLength(1096);
    expect(live.features).toHaveLength(365);
    expect(reference.features[1]).toEqual([10.9, 10.6, 2.8, 4.5]);
    expect(reference.labels[1]).toBe('rain');
  });

  it('reports its inputs and classes in model order', () => {
    expect(demo.featureNames).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind']);
    expect(demo.classes).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
  });

  it('predicts exactly what the TypeScript model predicts for every 2015 row, under onnxruntime', async () => {
    const live = parseLabeled(await readFile(demo.livePath, 'utf8'));
    const session = await ort.InferenceSession.create(demo.modelPath);
    try {
      expect(session.inputNames).toEqual(['features']);
      expect(session.outputNames).toEqual(['probabilities', 'label']);
      const n = live.features.length;
      const input = new ort.Tensor('float32', Float32Array.from(live.features.flat()), [n, 4]);
      const out = await session.run({ features: input });
      const probabilities = out.probabilities!;
      const label = out.label!;
      expect(probabilities.dims).toEqual([n, 5]);
      expect(label.type).toBe('string');
      expect(label.dims).toEqual([n]);

      const { model } = trainWeatherModel(splitByYear(rows).train);
      const onnxLabels = label.data as string[];
      const onnxProbs = probabilities.data as Float32Array;
      for (let i = 0; i < n; i++) {
        const ts = predictWeather(model, live.features[i]!);
        expect(onnxLabels[i], `row ${i}`).toBe(ts.label);
        for (let c = 0; c < 5; c++) expect(onnxProbs[i * 5 + c]).toBeCloseTo(ts.probabilities[c]!, 5);
      }

      const onnxAccuracy = onnxLabels.filter((l, i) => l === live.labels[i]).length / n;
      expect(onnxAccuracy).toBe(demo.liveAccuracy);
    } finally {
      await session.release();
    }
  });

  it('beats the majority-class baseline on the held-out 2015 data', () => {
    const { train, live } = splitByYear(rows);
    const counts = new Map<string, number>();
    for (const r of train) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    const majority = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    const baseline = live.filter((r) => r.label === majority).length / live.length;
    expect(demo.liveAccuracy).toBeGreaterThan(baseline + 0.2);
    expect(demo.trainAccuracy).toBeGreaterThan(0.8);
  });

  it('produces byte-identical files on every build', async () => {
    const again = await build();
    for (const key of ['modelPath', 'referencePath', 'livePath'] as const) {
      expect(Buffer.compare(await readFile(again[key]), await readFile(demo[key])), key).toBe(0);
    }
    expect(again.trainAccuracy).toBe(demo.trainAccuracy);
  });

  it('records the feature names, classes and label column as model metadata', () => {
    const { model } = trainWeatherModel(splitByYear(rows).train);
    expect(weatherModelSpec(model).metadata).toEqual({
      feature_names: FEATURE_NAMES.join(','),
      classes: CLASSES.join(','),
      label_column: 'weather',
    });
  });
});

describe('trainWeatherModel', () => {
  it('predicts fog and drizzle more often when given balanced class weights', () => {
    const { train } = splitByYear(rows);
    const counts = CLASSES.map((c) => train.filter((r) => r.label === c).length);
    const balanced = counts.map((n) => train.length / (CLASSES.length * n));
    const plain = trainWeatherModel(train).model;
    const weighted = trainWeatherModel(train, { classWeights: balanced }).model;
    const rare = (m: typeof plain) => train.filter((r) => ['fog', 'drizzle'].includes(predictWeather(m, r.features).label)).length;
    expect(rare(plain)).toBe(0);
    expect(rare(weighted)).toBeGreaterThan(100);
  });

  it('converges well inside its iteration budget', () => {
    const { iterations } = trainWeatherModel(splitByYear(rows).train);
    expect(iterations).toBeLessThan(300);
  });
});

describe('parseWeatherCsv', () => {
  const header = 'date,precipitation,temp_max,temp_min,wind,weather';

  it('reads well-formed rows, with or without CRLF line endings', () => {
    const parsed = parseWeatherCsv(`${header}\r\n2015-01-01,0.0,5.6,-3.2,1.2,sun\r\n`);
    expect(parsed).toEqual([{ date: '2015-01-01', features: [0, 5.6, -3.2, 1.2], label: 'sun' }]);
  });

  it.each([
    ['a missing field', '2015-01-01,0.0,5.6,-3.2,sun', /line 3: expected 6 fields, got 5/],
    ['an empty number', '2015-01-01,,5.6,-3.2,1.2,sun', /line 3: precipitation is not a number/],
    ['an unknown label', '2015-01-01,0.0,5.6,-3.2,1.2,hail', /line 3: unknown weather "hail"/],
    ['a bad date', '01/01/2015,0.0,5.6,-3.2,1.2,sun', /line 3: bad date/],
  ])('fails clearly on %s, naming the line', (_what, bad, message) => {
    const text = `${header}\n2015-01-02,0.0,5.6,-3.2,1.2,sun\n${bad}\n`;
    expect(() => parseWeatherCsv(text, 'x.csv')).toThrow(message);
  });

  it('rejects a file with the wrong header', () => {
    expect(() => parseWeatherCsv('date,rain\n')).toThrow(/line 1: expected header/);
  });
});
