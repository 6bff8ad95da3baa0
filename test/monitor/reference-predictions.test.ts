import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BerthCore, openCore } from '../../src/core.js';
import { buildWeatherDemo, loadSeattleWeather, splitByYear } from '../../src/demo/index.js';
import { identityModel } from '../fixtures/models.js';
import { tempHome } from '../helpers.js';

let core: BerthCore;
let home: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  core = await openCore({ home });
});
afterAll(async () => {
  await core.close();
  await cleanup();
});

const cacheFile = (model: string, version: number) => join(home, 'monitoring', 'reference-predictions', model, `${version}.json`);

describe('reference predictions at registration', () => {
  it("stores the model's prediction for every reference row when a version is registered with a reference", async () => {
    const demo = await buildWeatherDemo(join(home, 'demo'));
    const v = await core.management.register('weather', {
      model: { path: demo.modelPath },
      reference: { path: demo.referencePath, labelColumn: 'weather' },
    });
    const preds = JSON.parse(await readFile(cacheFile('weather', v.version), 'utf8')) as string[];
    const train = splitByYear(await loadSeattleWeather()).train;
    expect(preds).toHaveLength(train.length);
    // the demo's own accuracy on its training years (0.859 in the closing note) recomputed from the cache
    const right = preds.filter((p, i) => p === train[i]?.label).length / train.length;
    expect(right).toBeCloseTo(demo.trainAccuracy, 6);
  });

  it('computes nothing for a version without a reference', async () => {
    const file = join(home, 'id.onnx');
    await writeFile(file, identityModel('float32', ['batch', 4]));
    const v = await core.management.register('plain', { model: { path: file } });
    await expect(stat(cacheFile('plain', v.version))).rejects.toThrow();
  });
});
