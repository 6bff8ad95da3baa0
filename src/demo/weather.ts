import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASSES, FEATURE_NAMES, loadSeattleWeather, splitByYear, toLabeledCsv } from './dataset.js';
import { exportWeatherModel } from './export.js';
import { accuracy, trainWeatherModel } from './model.js';

/** What buildWeatherDemo wrote and how well the model it trained does. */
export interface WeatherDemo {
  modelPath: string;
  referencePath: string;
  livePath: string;
  trainAccuracy: number;
  liveAccuracy: number;
  featureNames: string[];
  classes: string[];
}

/**
 * Trains the Seattle weather classifier on 2012–2014 and writes `weather.onnx`,
 * `reference.csv` (the training rows) and `live-2015.csv` (the held-out year) into `outDir`.
 * The same inputs always produce the same bytes.
 */
export async function buildWeatherDemo(outDir: string): Promise<WeatherDemo> {
  const { train, live } = splitByYear(await loadSeattleWeather());
  const { model } = trainWeatherModel(train);

  await mkdir(outDir, { recursive: true });
  const modelPath = join(outDir, 'weather.onnx');
  const referencePath = join(outDir, 'reference.csv');
  const livePath = join(outDir, 'live-2015.csv');
  await Promise.all([
    writeFile(modelPath, exportWeatherModel(model)),
    writeFile(referencePath, toLabeledCsv(train)),
    writeFile(livePath, toLabeledCsv(live)),
  ]);
  return {
    modelPath,
    referencePath,
    livePath,
    trainAccuracy: accuracy(model, train),
    liveAccuracy: accuracy(model, live),
    featureNames: [...FEATURE_NAMES],
    classes: [...CLASSES],
  };
}
