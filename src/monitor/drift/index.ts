/** Offline drift between two datasets: `driftReport` computes, `renderDriftHtml` renders. */
export { renderDriftHtml } from './html.js';
export { AUTO_SMALL_REFERENCE, chooseMethod, MAX_CATEGORICAL_DISTINCT } from './methods.js';
export { driftReport } from './report.js';
export {
  type ColumnChart,
  type ColumnDrift,
  type ColumnKind,
  type ConcreteMethod,
  DRIFT_METHODS,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
  type DriftResult,
} from './types.js';
