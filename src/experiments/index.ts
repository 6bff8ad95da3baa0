export {
  type AnalysisOptions,
  type AnalysisReport,
  type AnalyzeFileOptions,
  analyzeArms,
  analyzeFile,
  chooseControl,
  type ComparisonStats,
  type MetricKind,
  parseSplit,
  summarizeFile,
  type VariantStats,
} from './analyze.js';
export { type Assignable, assignVariant, murmur3, unitPoint } from './assign.js';
export { type ExperimentsPluginOptions, experimentsPlugin } from './http.js';
export { type ExperimentsApi, RemoteExperiments } from './remote.js';
export { armSummary, buildReport, type ExperimentReport, type ReportComparison, type ReportVariant } from './report.js';
export { experimentRouter } from './router.js';
export { Experiments, type ExperimentsOptions, type Headers, openExperiments, type RoutedRequest } from './service.js';
export { SqliteExperimentStore, type SqliteExperimentStoreOptions } from './sqlite.js';
export type {
  ArmTotals,
  Experiment,
  ExperimentInput,
  ExperimentStatus,
  ExperimentStore,
  Exposure,
  OutcomeInput,
  OutcomeResult,
  VariantSpec,
} from './types.js';
export { parseOutcomes, parseVersionRef, type VersionResolver, validateExperiment } from './validate.js';
