import { CLASSES, type WeatherClass, type WeatherRow } from './dataset.js';
import { argMax, predictProbabilities, type SoftmaxModel, type TrainOptions, trainSoftmax } from './softmax.js';

/**
 * The columns the linear model sees: the four raw inputs plus two computed inside the ONNX
 * graph. In this data set any measurable precipitation means rain (or snow) and a dry day is
 * almost always labelled sun, fog or drizzle, so a "wet" indicator is worth ~6 points of
 * accuracy over raw precipitation alone; log1p tames its long tail.
 */
export const MODEL_FEATURE_NAMES = ['precipitation', 'temp_max', 'temp_min', 'wind', 'wet', 'log1p_precipitation'] as const;

/** Defaults that reach the data's ceiling in a few dozen L-BFGS iterations. */
export const WEATHER_TRAIN_OPTIONS: Required<Omit<TrainOptions, 'classWeights'>> = { l2: 1e-3, maxIterations: 500, tolerance: 1e-6 };

/** Raw (precipitation, temp_max, temp_min, wind) to model features, in float32 like the graph. */
export function deriveFeatures(raw: readonly number[]): number[] {
  const x = raw.map(Math.fround);
  const precipitation = x[0]!;
  return [...x, precipitation > 0 ? 1 : 0, Math.fround(Math.log(Math.fround(precipitation + 1)))];
}

/** Fits the weather classifier to labelled rows. */
export function trainWeatherModel(rows: readonly WeatherRow[], options: TrainOptions = {}): { model: SoftmaxModel; iterations: number; loss: number } {
  const x = rows.map((r) => deriveFeatures(r.features));
  const y = rows.map((r) => CLASSES.indexOf(r.label));
  return trainSoftmax(x, y, CLASSES.length, { ...WEATHER_TRAIN_OPTIONS, ...options });
}

/** Class probabilities (CLASSES order) and the predicted label for one day's raw features. */
export function predictWeather(model: SoftmaxModel, raw: readonly number[]): { probabilities: number[]; label: WeatherClass } {
  const probabilities = predictProbabilities(model, deriveFeatures(raw));
  return { probabilities, label: CLASSES[argMax(probabilities)]! };
}

/** Fraction of rows whose predicted label matches. */
export function accuracy(model: SoftmaxModel, rows: readonly WeatherRow[]): number {
  if (rows.length === 0) return Number.NaN;
  let right = 0;
  for (const r of rows) if (predictWeather(model, r.features).label === r.label) right++;
  return right / rows.length;
}
