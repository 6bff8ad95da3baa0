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
