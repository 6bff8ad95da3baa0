/** The demo model: a softmax classifier of Seattle weather, exported to ONNX. */
export type { WeatherClass, WeatherRow } from './dataset.js';
export {
  CLASSES,
  FEATURE_NAMES,
  LABEL_COLUMN,
  loadSeattleWeather,
  parseWeatherCsv,
  seattleWeatherCsvPath,
  splitByYear,
  toLabeledCsv,
} from './dataset.js';
export { exportWeatherModel, weatherModelSpec } from './export.js';
export { accuracy, deriveFeatures, MODEL_FEATURE_NAMES, predictWeather, trainWeatherModel } from './model.js';
export type { SoftmaxModel, TrainOptions } from './softmax.js';
export { buildWeatherDemo, type WeatherDemo } from './weather.js';
